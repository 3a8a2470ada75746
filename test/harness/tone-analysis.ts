/** Reads tones out of recorded audio: 20 ms windows, each measured at the frequencies of interest (Goertzel). */

export interface ToneWindow {
  /** Start of the window, seconds from the start of the recording. */
  at: number;
  rms: number;
  /** Amplitude of each asked frequency in the window (a full-scale sine of amplitude A reads about A). */
  amplitude: Record<number, number>;
  /** Frequency by zero crossings (meaningful when one tone plays). */
  zeroCrossingHz: number;
}

function goertzelAmplitude(s: Int16Array, from: number, n: number, hz: number, rate: number): number {
  const k = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(k);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = (s[from + i] ?? 0) + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / n;
}

export function toneWindows(samples: Int16Array, rate: number, freqs: readonly number[], windowMs = 20): ToneWindow[] {
  const n = Math.round((rate * windowMs) / 1000);
  const out: ToneWindow[] = [];
  for (let from = 0; from + n <= samples.length; from += n) {
    let sum = 0;
    let crossings = 0;
    for (let i = 0; i < n; i++) {
      const v = samples[from + i] ?? 0;
      sum += v * v;
      if (i > 0 && (samples[from + i - 1] ?? 0) < 0 !== v < 0) crossings++;
    }
    const amplitude: Record<number, number> = {};
    for (const f of freqs) amplitude[f] = goertzelAmplitude(samples, from, n, f, rate);
    out.push({ at: from / rate, rms: Math.sqrt(sum / n), amplitude, zeroCrossingHz: crossings / 2 / (windowMs / 1000) });
  }
  return out;
}

export function s16le(buf: Buffer): Int16Array {
  const out = new Int16Array(Math.floor(buf.length / 2));
  for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(i * 2);
  return out;
}
