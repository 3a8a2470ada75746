/**
 * Scales an I420 frame down to half or a quarter of its width and height: each output pixel is the mean of a 2 × 2
 * box (a quarter: twice), for luma and both chroma planes; an odd rest at the right and bottom edges is left out.
 * One scaler per camera: the calls of the camera all send the one scaled frame (encode-budget.ts). The output buffer
 * is reused: a frame returned is valid until the next scale(), which suits wrtc's RTCVideoSource.onFrame (it copies
 * at once). Only halving: a third took five times as long as a half in the JavaScript this replaced, for little gain
 * (not measured in WebAssembly).
 *
 * The means are taken by a small WebAssembly module with 128-bit SIMD (halve.wat, 16 output bytes a step), in the
 * scaler's own memory: the frame is copied in, halved once or twice there, and the result copied out. Why: on Node's
 * main thread, where the camera's frames arrive, the JavaScript this replaced (four bytes at a time in 32-bit words)
 * took 0.83–0.85 ms a 1280×720 frame to 640×360 and 1.05–1.09 ms to 320×180 on the slow 2-core machine, idle; the
 * module 0.18–0.19 and 0.17–0.20 ms, the copies included (1920×1080 to half: 1.96–2.08 → 1.10–1.15 ms, most of it
 * copying the frame in). Four 720p25 cameras at a quarter: 10.5 % of a core → under 2 %. The same bytes out (the
 * unit test holds both to the formula).
 *
 * A step needs a source of at least 4 × 4 (an output of 2 × 2 whole boxes): a smaller frame, or a half too small to
 * halve again, is handed on as it is; so is a frame whose data is shorter than its size says (the module would read
 * the previous frame's bytes in its place).
 */
import type { I420Frame } from "./camera-media.ts";
import { scaledSize } from "./encode-budget.ts";
import { HALVE_WASM_BASE64 } from "./halve-wasm.ts";

interface HalveExports {
  memory: WebAssembly.Memory;
  halvePlane: (src: number, stride: number, dst: number, w: number, h: number) => void;
}

type Size = { width: number; height: number };

/** Compiled once; each scaler has its own instance (its own memory). */
const HALVE_MODULE = new WebAssembly.Module(Buffer.from(HALVE_WASM_BASE64, "base64"));
const PAGE = 65_536;

/** Bytes of an I420 frame: chroma planes of ⌈w/2⌉ × ⌈h/2⌉. */
function i420Bytes({ width, height }: Size): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** Whether a frame of this size can be halved: 2 × 2 whole boxes at least. */
function halvable({ width, height }: Size): boolean {
  return width >= 4 && height >= 4;
}

export class FrameScaler {
  private readonly wasm = new WebAssembly.Instance(HALVE_MODULE).exports as unknown as HalveExports;
  private out = new Uint8Array(0);

  /** `frame` at 1 / divisor of its width and height; divisor 1 (or less) gives the frame itself, 2 half, 4 a quarter. */
  scale(frame: I420Frame, divisor: number): I420Frame {
    const input = i420Bytes(frame);
    if (divisor <= 1 || !halvable(frame) || frame.data.length < input) return frame;
    // The module's memory holds the frame, its half after it, and the quarter (if asked) after that.
    const half = scaledSize(frame.width, frame.height, 2);
    const quarter = divisor > 2 && halvable(half) ? scaledSize(frame.width, frame.height, 4) : undefined;
    const halfAt = input;
    const quarterAt = halfAt + i420Bytes(half);
    this.reserve(quarterAt + (quarter === undefined ? 0 : i420Bytes(quarter)));
    new Uint8Array(this.wasm.memory.buffer, 0, input).set(frame.data.subarray(0, input));
    this.halve(frame, 0, half, halfAt);
    if (quarter === undefined) return this.view(half, halfAt);
    this.halve(half, halfAt, quarter, quarterAt);
    return this.view(quarter, quarterAt);
  }

  private reserve(bytes: number): void {
    const memory = this.wasm.memory;
    if (memory.buffer.byteLength < bytes) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  }

  /** The result copied out of the module's memory: wrtc's onFrame takes a frame's whole ArrayBuffer as the frame. */
  private view(size: Size, at: number): I420Frame {
    const bytes = i420Bytes(size);
    if (this.out.length !== bytes) this.out = new Uint8Array(bytes);
    this.out.set(new Uint8Array(this.wasm.memory.buffer, at, bytes));
    return { width: size.width, height: size.height, data: this.out };
  }

  /** One step: the three planes of the frame at `src` halved into the frame at `dst`. */
  private halve(from: Size, src: number, to: Size, dst: number): void {
    const { halvePlane } = this.wasm;
    const cw = Math.ceil(from.width / 2);
    const ch = Math.ceil(from.height / 2);
    const ocw = to.width / 2;
    const och = to.height / 2;
    const luma = from.width * from.height;
    const outLuma = to.width * to.height;
    halvePlane(src, from.width, dst, to.width, to.height);
    halvePlane(src + luma, cw, dst + outLuma, ocw, och);
    halvePlane(src + luma + cw * ch, cw, dst + outLuma + ocw * och, ocw, och);
  }
}
