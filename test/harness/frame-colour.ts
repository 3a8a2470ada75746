/**
 * Tells test cameras apart in decoded I420 frames: GStreamer's videotestsrc "smpte" colour bars versus a solid
 * colour ("red"), by the mean luma and chroma of blocks of the picture.
 */
export interface Yuv {
  y: number;
  u: number;
  v: number;
}

export type Picture = "bars" | "red" | "other";

/** Mean Y, U and V of the block [x0, x1) × [y0, y1), given as fractions of the width and height. */
export function blockMean(frame: { width: number; height: number; data: Uint8Array }, x0: number, x1: number, y0: number, y1: number): Yuv {
  const { width: w, height: h, data } = frame;
  const cw = w >> 1;
  const ch = h >> 1;
  const uPlane = w * h;
  const vPlane = uPlane + cw * ch;
  let ys = 0;
  let us = 0;
  let vs = 0;
  let n = 0;
  let cn = 0;
  for (let row = Math.floor(y0 * h); row < Math.floor(y1 * h); row++) {
    for (let col = Math.floor(x0 * w); col < Math.floor(x1 * w); col++) {
      ys += data[row * w + col] ?? 0;
      n++;
      if ((row & 1) === 0 && (col & 1) === 0) {
        const c = (row >> 1) * cw + (col >> 1);
        us += data[uPlane + c] ?? 0;
        vs += data[vPlane + c] ?? 0;
        cn++;
      }
    }
  }
  return { y: ys / Math.max(1, n), u: us / Math.max(1, cn), v: vs / Math.max(1, cn) };
}

/**
 * "bars": the SMPTE pattern, whose top-left bar is light grey (neutral chroma, bright) and top-right bar blue
 * (U well above neutral). "red": a solid red picture (V far above neutral everywhere, dark luma).
 */
export function classify(frame: { width: number; height: number; data: Uint8Array } | undefined): Picture {
  if (frame === undefined) return "other";
  const left = blockMean(frame, 0.02, 0.1, 0.1, 0.5);
  const right = blockMean(frame, 0.9, 0.98, 0.1, 0.5);
  const centre = blockMean(frame, 0.4, 0.6, 0.4, 0.6);
  const neutral = (c: Yuv): boolean => Math.abs(c.u - 128) < 20 && Math.abs(c.v - 128) < 20;
  if (left.y > 140 && neutral(left) && right.u > 170) return "bars";
  if ([left, right, centre].every((c) => c.v > 200 && c.y < 130 && c.u < 120)) return "red";
  return "other";
}
