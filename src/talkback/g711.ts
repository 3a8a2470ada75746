/**
 * G.711 encoders (ITU-T G.711, as in the reference g711.c that ffmpeg and GStreamer also follow): 16-bit
 * linear PCM → 8-bit µ-law (PCMU, RTP payload type 0) or A-law (PCMA, type 8). Decoders are here for tests.
 */

/** Segment ends of the scaled magnitudes (µ-law: 14-bit, A-law: 13-bit). */
const SEG_UEND = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const SEG_AEND = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

function segment(value: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) if (value <= (ends[i] ?? 0)) return i;
  return 8;
}

const BIAS = 0x84;
const CLIP = 8159;

/** One 16-bit sample to µ-law. */
export function ulawFromLinear(sample: number): number {
  let pcm = sample >> 2; // 14-bit magnitude range
  let mask: number;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7f;
  } else {
    mask = 0xff;
  }
  if (pcm > CLIP) pcm = CLIP;
  pcm += BIAS >> 2;
  const seg = segment(pcm, SEG_UEND);
  if (seg >= 8) return 0x7f ^ mask;
  const uval = (seg << 4) | ((pcm >> (seg + 1)) & 0xf);
  return uval ^ mask;
}

/** One 16-bit sample to A-law. */
export function alawFromLinear(sample: number): number {
  let pcm = sample >> 3; // 13-bit range
  let mask: number;
  if (pcm >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const seg = segment(pcm, SEG_AEND);
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0xf : (pcm >> seg) & 0xf;
  return aval ^ mask;
}

export function ulawToLinear(code: number): number {
  const u = ~code & 0xff;
  let t = ((u & 0xf) << 3) + BIAS;
  t <<= (u & 0x70) >> 4;
  return u & 0x80 ? BIAS - t : t - BIAS;
}

export function alawToLinear(code: number): number {
  const a = code ^ 0x55;
  let t = (a & 0xf) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

export function encodeUlaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = ulawFromLinear(samples[i] ?? 0);
  return out;
}

export function encodeAlaw(samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = alawFromLinear(samples[i] ?? 0);
  return out;
}
