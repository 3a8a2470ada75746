/**
 * The scaler that makes the smaller picture under overload (src/media/frame-scaler.ts): every output byte against the
 * plain formula, (a + b + c + d + 2) >> 2 over each 2 × 2 box, at sizes that take the module's SIMD steps, its byte by
 * byte rest, or both; and the module the bot loads built from its text (halve.wat) as it is now.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { buildHalveWasm, halveWasmSource, OUT_FILE } from "../../scripts/build-wasm.ts";
import type { I420Frame } from "../../src/media/camera-media.ts";
import { FrameScaler } from "../../src/media/frame-scaler.ts";

/** An I420 frame of `width` × `height` whose every byte is `value(i)`. */
function frame(width: number, height: number, value: (i: number) => number): I420Frame {
  const data = new Uint8Array(width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2));
  for (let i = 0; i < data.length; i++) data[i] = value(i);
  return { width, height, data };
}

/** The formula, plane by plane: what the scaler must give for one halving. */
function halvedByHand(f: I420Frame): I420Frame {
  const ow = Math.max(2, Math.floor(f.width / 4) * 2);
  const oh = Math.max(2, Math.floor(f.height / 4) * 2);
  const out = new Uint8Array(ow * oh * 1.5);
  const cw = Math.ceil(f.width / 2);
  const ch = Math.ceil(f.height / 2);
  const planes = [
    { src: 0, stride: f.width, dst: 0, w: ow, h: oh },
    { src: f.width * f.height, stride: cw, dst: ow * oh, w: ow / 2, h: oh / 2 },
    { src: f.width * f.height + cw * ch, stride: cw, dst: ow * oh * 1.25, w: ow / 2, h: oh / 2 },
  ];
  for (const p of planes) {
    const at = (x: number, y: number): number => f.data[p.src + y * p.stride + x] ?? Number.NaN;
    for (let y = 0; y < p.h; y++)
      for (let x = 0; x < p.w; x++)
        out[p.dst + y * p.w + x] = (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1) + 2) >> 2;
  }
  return { width: ow, height: oh, data: out };
}

const noise = (i: number): number => (i * 2_654_435_761) >>> 24;

describe("FrameScaler", () => {
  it("divisor 1 hands the frame on as it is", () => {
    const f = frame(8, 4, () => 7);
    expect(new FrameScaler().scale(f, 1)).toBe(f);
  });

  it.each([
    ["byte by byte only (6 wide out)", 14, 6],
    ["SIMD only (32 wide out, chroma 16)", 64, 8],
    ["SIMD and the rest (50 wide out), odd chroma stride", 101, 34],
    ["1366 × 766 (682 × 382 out)", 1366, 766],
    ["1280 × 720", 1280, 720],
  ])("halves every byte as the formula does: %s", (_name, width, height) => {
    const f = frame(width, height, noise);
    const out = new FrameScaler().scale(f, 2);
    const want = halvedByHand(f);
    expect([out.width, out.height]).toEqual([want.width, want.height]);
    expect(Buffer.from(out.data).equals(Buffer.from(want.data))).toBe(true);
  });

  it("a quarter is the half halved again, and the input may sit anywhere in its buffer", () => {
    const f = frame(1280, 720, noise);
    const backing = new Uint8Array(f.data.length + 3);
    backing.set(f.data, 3);
    const out = new FrameScaler().scale({ ...f, data: backing.subarray(3) }, 4);
    const want = halvedByHand(halvedByHand(f));
    expect([out.width, out.height, out.data.length]).toEqual([320, 180, 320 * 180 * 1.5]);
    expect(Buffer.from(out.data).equals(Buffer.from(want.data))).toBe(true);
  });

  it("one scaler takes frames of another size, larger and smaller (its memory grows)", () => {
    const scaler = new FrameScaler();
    for (const [w, h] of [
      [320, 240],
      [1920, 1080],
      [640, 480],
    ] as const) {
      const f = frame(w, h, (i) => noise(i + w));
      const out = scaler.scale(f, 2);
      expect(Buffer.from(out.data).equals(Buffer.from(halvedByHand(f).data))).toBe(true);
    }
  });
});

describe("FrameScaler at the edges", () => {
  it("hands on a frame too small to halve (under 4 × 4) as it is", () => {
    const f = frame(2, 2, noise);
    expect(new FrameScaler().scale(f, 2)).toBe(f);
  });

  it.each([
    [4, 4],
    [6, 6],
  ])("stops at the half when the half is too small to halve again: %i × %i to a quarter", (width, height) => {
    const scaler = new FrameScaler();
    // A larger frame first: the module's memory then holds old bytes a wrong read would pick up.
    scaler.scale(
      frame(64, 64, () => 255),
      4,
    );
    const f = frame(width, height, noise);
    const out = scaler.scale(f, 4);
    const want = halvedByHand(f);
    expect([out.width, out.height]).toEqual([2, 2]);
    expect(Buffer.from(out.data).equals(Buffer.from(want.data))).toBe(true);
  });

  it("hands on a frame whose data is shorter than its size as it is", () => {
    const f = frame(64, 64, noise);
    const short = { ...f, data: f.data.subarray(0, f.data.length - 1) };
    expect(new FrameScaler().scale(short, 2)).toBe(short);
  });
});

describe("halve-wasm.ts", () => {
  it("is halve.wat as scripts/build-wasm.ts builds it now (run the script after changing the .wat)", async () => {
    expect(readFileSync(OUT_FILE, "utf8")).toBe(halveWasmSource(await buildHalveWasm()));
  });
});
