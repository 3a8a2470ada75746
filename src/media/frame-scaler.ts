/**
 * Scales an I420 frame down to half or a quarter of its width and height: each output pixel is the mean of a 2 × 2
 * box (a quarter: twice), for luma and both chroma planes; an odd rest at the right and bottom edges is left out.
 * One scaler per camera: the calls of the camera all send the one scaled frame (encode-budget.ts). The output buffer
 * is reused: a frame returned is valid until the next scale(), which suits wrtc's RTCVideoSource.onFrame (it copies
 * at once).
 *
 * Cost, 1280×720 → 640×360 on the 2-core build machine while other jobs loaded it (load average 11): 3.8 ms a frame
 * byte by byte, 1.5 ms reading four bytes at a time (below), i.e. under 4 % of a core at 25 fps, against the ~20 % of
 * a core each 720p encode saves. Only halving: a third is five times slower in this form and gains little.
 */
import { endianness } from "node:os";
import { scaledSize } from "./encode-budget.ts";

export interface I420 {
  width: number;
  height: number;
  data: Uint8Array;
}

const LITTLE_ENDIAN = endianness() === "LE";

/** One halving step's buffers. */
class Halver {
  private out = new Uint8Array(0);
  /** The input copied to a 4-byte aligned buffer when it is not (a plain memcpy). */
  private aligned = new Uint8Array(0);

  halve(frame: I420): I420 {
    const { width, height } = frame;
    const o = scaledSize(width, height, 2);
    const cw = Math.ceil(width / 2);
    const ch = Math.ceil(height / 2);
    const ocw = o.width / 2;
    const och = o.height / 2;
    const size = o.width * o.height + 2 * ocw * och;
    if (this.out.length !== size) this.out = new Uint8Array(size);
    let src = frame.data;
    if (src.byteOffset % 4 !== 0) {
      if (this.aligned.length !== src.length) this.aligned = new Uint8Array(src.length);
      this.aligned.set(src);
      src = this.aligned;
    }
    halvePlane(src, 0, width, this.out, 0, o.width, o.height);
    halvePlane(src, width * height, cw, this.out, o.width * o.height, ocw, och);
    halvePlane(src, width * height + cw * ch, cw, this.out, o.width * o.height + ocw * och, ocw, och);
    return { width: o.width, height: o.height, data: this.out };
  }
}

export class FrameScaler {
  private readonly steps = [new Halver(), new Halver()];

  /** `frame` at 1 / divisor of its width and height; divisor 1 (or less) gives the frame itself, 2 half, 4 a quarter. */
  scale(frame: I420, divisor: number): I420 {
    let out = frame;
    for (let d = 1, i = 0; d < divisor && i < this.steps.length; d *= 2, i++) out = this.steps[i]?.halve(out) ?? out;
    return out;
  }
}

/**
 * dst plane (w × h, packed, at dstOff) = means of the 2 × 2 boxes of the src plane (at srcOff, stride srcStride).
 * Four bytes at a time where the plane allows it: the two byte pairs of a 32-bit word summed in two 16-bit lanes.
 */
function halvePlane(src: Uint8Array, srcOff: number, srcStride: number, dst: Uint8Array, dstOff: number, w: number, h: number): void {
  const words =
    LITTLE_ENDIAN && w % 2 === 0 && srcStride % 4 === 0 && (src.byteOffset + srcOff) % 4 === 0 && (dst.byteOffset + dstOff) % 2 === 0;
  if (words) {
    const s32 = new Uint32Array(src.buffer, src.byteOffset + srcOff, (srcStride * 2 * h) / 4);
    const d16 = new Uint16Array(dst.buffer, dst.byteOffset + dstOff, (w * h) / 2);
    const stride = srcStride / 4;
    for (let y = 0; y < h; y++) {
      let a = 2 * y * stride;
      let q = (y * w) / 2;
      const end = q + w / 2;
      for (; q < end; a++, q++) {
        const u = s32[a] as number;
        const v = s32[a + stride] as number;
        const sum = (u & 0xff00ff) + ((u >>> 8) & 0xff00ff) + (v & 0xff00ff) + ((v >>> 8) & 0xff00ff) + 0x20002;
        d16[q] = ((sum >>> 2) & 0xff) | (((sum >>> 18) & 0xff) << 8);
      }
    }
    return;
  }
  for (let y = 0; y < h; y++) {
    let a = srcOff + 2 * y * srcStride;
    let q = dstOff + y * w;
    for (let x = 0; x < w; x++, a += 2, q++) {
      const b = a + srcStride;
      dst[q] = ((src[a] as number) + (src[a + 1] as number) + (src[b] as number) + (src[b + 1] as number) + 2) >> 2;
    }
  }
}
