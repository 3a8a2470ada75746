/** The media pipe's records (media-pipe.ts): what the bot writes, the LiveKit process reads back whole, however the pipe cuts it. */
import { PassThrough, Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MediaReader, MediaWriter, type MediaRecord } from "../../src/matrixrtc/media-pipe.ts";

function i420(width: number, height: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

/** Everything written to a PassThrough, as one buffer. */
function written(out: PassThrough): Buffer {
  const chunks: Buffer[] = [];
  for (let c = out.read() as Buffer | null; c !== null; c = out.read() as Buffer | null) chunks.push(c);
  return Buffer.concat(chunks);
}

function copied(r: MediaRecord): MediaRecord {
  return r.kind === "video"
    ? { ...r, frame: { ...r.frame, data: r.frame.data.slice() } }
    : { ...r, chunk: { ...r.chunk, samples: r.chunk.samples.slice() } };
}

describe("media pipe", () => {
  it("video and audio records come back whole and in order, whatever sizes the pipe's chunks have", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 40 }), (cuts) => {
        const out = new PassThrough({ highWaterMark: 64 * 1024 * 1024 });
        const writer = new MediaWriter(out);
        const samples = Int16Array.from({ length: 480 }, (_, i) => i - 240);
        expect(writer.video(7, { width: 33, height: 17, data: i420(33, 17, 1) })).toBe(true);
        // Drained between frames, as the LiveKit process reads them.
        const first = written(out);
        expect(writer.audio(7, { samples, sampleRate: 48_000, channelCount: 1, frames: 480 })).toBe(true);
        expect(writer.video(9, { width: 320, height: 240, data: i420(320, 240, 2) })).toBe(true);
        const bytes = Buffer.concat([first, written(out)]);
        const got: MediaRecord[] = [];
        // A record's bytes are the reader's until the next one of the same size: copied, as rtc-node copies a frame.
        const reader = new MediaReader((r) => got.push(copied(r)));
        let at = 0;
        for (let i = 0; at < bytes.length; i++) {
          const n = cuts[i % cuts.length] ?? 1;
          reader.push(bytes.subarray(at, at + n));
          at += n;
        }
        expect(got.map((r) => [r.stream, r.kind])).toEqual([
          [7, "video"],
          [7, "audio"],
          [9, "video"],
        ]);
        const [a, b, c] = got;
        expect(
          a?.kind === "video" && [a.frame.width, a.frame.height, Buffer.from(a.frame.data).equals(Buffer.from(i420(33, 17, 1)))],
        ).toEqual([33, 17, true]);
        expect(b?.kind === "audio" && [b.chunk.sampleRate, b.chunk.channelCount, b.chunk.frames, [...b.chunk.samples]]).toEqual([
          48_000,
          1,
          480,
          [...samples],
        ]);
        expect(c?.kind === "video" && Buffer.from(c.frame.data).equals(Buffer.from(i420(320, 240, 2)))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("a frame is sent as a copy: the sink's buffer reused after the handler changes nothing sent", () => {
    const out = new PassThrough({ highWaterMark: 64 * 1024 * 1024 });
    const data = i420(16, 16, 3);
    new MediaWriter(out).video(1, { width: 16, height: 16, data });
    data.fill(0);
    const got: MediaRecord[] = [];
    new MediaReader((r) => got.push(r)).push(written(out));
    const [r] = got;
    expect(r?.kind === "video" && Buffer.from(r.frame.data).equals(Buffer.from(i420(16, 16, 3)))).toBe(true);
  });

  it("drops a stream's frame while its last one is still queued, and only that stream's (a process behind costs frames, not memory)", async () => {
    // A pipe that holds each write until released: every frame stays queued meanwhile.
    const held: (() => void)[] = [];
    const pipe = new Writable({
      highWaterMark: 1,
      write: (_chunk, _enc, done) => {
        held.push(() => {
          done();
        });
      },
    });
    const writer = new MediaWriter(pipe);
    const frame = { width: 64, height: 64, data: i420(64, 64, 4) };
    expect(writer.video(1, frame)).toBe(true);
    expect(writer.video(1, frame)).toBe(false);
    // Another camera's stream still gets its frame.
    expect(writer.video(2, frame)).toBe(true);
    expect(writer.video(2, frame)).toBe(false);
    // Once stream 1's frame is written, its next one goes.
    held.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(writer.video(1, frame)).toBe(true);
  });

  it("refuses records no writer makes: a size that does not match the frame, a kind it does not know, a huge length", () => {
    const header = (length: number, kind: number, a: number, b: number): Buffer => {
      const h = Buffer.alloc(20);
      h.writeUInt32LE(length, 0);
      h.writeUInt32LE(1, 4);
      h.writeUInt8(kind, 8);
      h.writeUInt8(1, 9);
      h.writeUInt32LE(a, 12);
      h.writeUInt32LE(b, 16);
      return h;
    };
    const read = (bytes: Buffer) => () => {
      new MediaReader(() => undefined).push(bytes);
    };
    expect(read(Buffer.concat([header(10, 1, 4, 4), Buffer.alloc(10)]))).toThrow(/video record of 10 bytes for 4x4/);
    expect(read(Buffer.concat([header(4, 3, 0, 0), Buffer.alloc(4)]))).toThrow(/kind 3/);
    expect(read(header(0xffffffff, 1, 0, 0))).toThrow(/media record of 4294967295 bytes/);
  });
});
