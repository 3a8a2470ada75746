/**
 * 48 kHz → 48/N kHz for talkback: a Kaiser-windowed sinc low-pass, evaluated only at the kept samples.
 *
 * Why a real filter: dropping 5 of every 6 samples folds everything above 4 kHz back into the speech band
 * (a 5 kHz hiss becomes a 3 kHz whistle at the door). The pass band ends at 85 % of the new Nyquist frequency
 * (3.4 kHz for 8 kHz, the telephone band) and the stop band starts at it, at least 70 dB down. At 8 kHz that
 * is 345 taps: 3.6 ms of delay and 345 multiply-adds per output sample (2.8 M/s, well under 1 % of a core).
 */

const STOPBAND_DB = 70;

/** Modified Bessel function of the first kind, order 0 (series; converges fast for the β used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** Low-pass taps (odd length, unity DC gain) for `inRate` → `outRate`. */
export function lowpassTaps(inRate: number, outRate: number): Float64Array {
  const nyquistOut = outRate / 2;
  const passEdge = 0.85 * nyquistOut;
  const stopEdge = nyquistOut;
  const cutoff = (passEdge + stopEdge) / 2 / inRate; // cycles per input sample
  const transition = (2 * Math.PI * (stopEdge - passEdge)) / inRate; // radians per sample
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  let n = Math.ceil((STOPBAND_DB - 8) / (2.285 * transition)) + 1;
  if (n % 2 === 0) n += 1;
  const taps = new Float64Array(n);
  const mid = (n - 1) / 2;
  const i0Beta = besselI0(beta);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = i - mid;
    const sinc = t === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * t) / (Math.PI * t);
    const r = t / mid;
    const w = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
    taps[i] = sinc * w;
    sum += taps[i] ?? 0;
  }
  for (let i = 0; i < n; i++) taps[i] = (taps[i] ?? 0) / sum;
  return taps;
}

/**
 * A streaming decimator by a whole factor: feed any number of input samples, get the output samples they
 * complete. It keeps the last taps-1 inputs between calls, so chunk boundaries leave no trace.
 */
export class Decimator {
  readonly factor: number;
  private readonly taps: Float64Array;
  /** Input history (the newest taps-1 samples) followed by room for new input. */
  private buf: Float64Array;
  private held: number;
  /** Index in buf of the newest input sample of the next output (≥ taps-1 once primed). */
  private next: number;

  constructor(inRate: number, outRate: number) {
    if (!Number.isInteger(inRate / outRate) || outRate > inRate) throw new Error(`cannot decimate ${inRate} Hz to ${outRate} Hz`);
    this.factor = inRate / outRate;
    this.taps = this.factor === 1 ? Float64Array.of(1) : lowpassTaps(inRate, outRate);
    this.buf = new Float64Array(this.taps.length - 1 + 4800);
    // Start with silence as history, so the first output comes with the first factor samples.
    this.held = this.taps.length - 1;
    this.next = this.taps.length - 1;
  }

  /** Delay the filter adds, in input samples. */
  get delaySamples(): number {
    return (this.taps.length - 1) / 2;
  }

  process(input: Int16Array): Int16Array {
    const need = this.held + input.length;
    if (need > this.buf.length) {
      const grown = new Float64Array(need);
      grown.set(this.buf.subarray(0, this.held));
      this.buf = grown;
    }
    for (let i = 0; i < input.length; i++) this.buf[this.held + i] = input[i] ?? 0;
    this.held = need;
    const count = this.next < this.held ? Math.floor((this.held - 1 - this.next) / this.factor) + 1 : 0;
    const out = new Int16Array(count);
    const taps = this.taps;
    const n = taps.length;
    for (let k = 0; k < count; k++) {
      const end = this.next + k * this.factor;
      let acc = 0;
      for (let j = 0; j < n; j++) acc += (taps[j] ?? 0) * (this.buf[end - j] ?? 0);
      out[k] = Math.max(-32768, Math.min(32767, Math.round(acc)));
    }
    this.next += count * this.factor;
    // Keep the newest taps-1 samples (and the position of the next output relative to them).
    const keep = n - 1;
    const drop = this.held - keep;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.held);
      this.held = keep;
      this.next -= drop;
    }
    return out;
  }
}
