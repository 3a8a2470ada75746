/** FrameSplitter: fixed-size frames out of an arbitrarily chunked byte stream, in both modes. */
import { describe, expect, it } from "vitest";
import { FrameSplitter } from "../../src/media/frame-splitter.ts";

/** mulberry32: a small seeded PRNG, so every run sees the same "random" chunkings. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randInt(rand: () => number, min: number, max: number): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** A chunk with its own ArrayBuffer (Buffer.alloc never uses the shared pool), so `.buffer` identity means something. */
function ownChunk(bytes: Uint8Array): Buffer {
  const chunk = Buffer.alloc(bytes.length);
  chunk.set(bytes);
  return chunk;
}

/** Bytes 0..n-1 where byte i encodes its position, so any misplaced byte shows. */
function stream(n: number, rand?: () => number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = rand ? randInt(rand, 0, 255) : (i * 7 + (i >> 8)) & 0xff;
  return out;
}

interface Seen {
  bytes: Buffer;
  buffer: ArrayBufferLike;
  byteOffset: number;
  length: number;
  /** The chunk being pushed when the frame came out. */
  chunk: Buffer;
}

/** A splitter that records copies of what it emits, with where the frame's memory was. */
function recorder(
  frameSize: number,
  latestOnly: boolean,
  ownBuffer = false,
): { splitter: FrameSplitter; seen: Seen[]; push: (chunk: Buffer) => void } {
  const seen: Seen[] = [];
  let current: Buffer = Buffer.alloc(0);
  const splitter = new FrameSplitter(
    frameSize,
    (frame) => {
      seen.push({ bytes: Buffer.from(frame), buffer: frame.buffer, byteOffset: frame.byteOffset, length: frame.length, chunk: current });
    },
    latestOnly,
    ownBuffer,
  );
  return {
    splitter,
    seen,
    push: (chunk) => {
      current = chunk;
      splitter.push(chunk);
    },
  };
}

function at<T>(list: readonly T[], i: number): T {
  const v = list[i];
  if (v === undefined) throw new Error(`no element ${i}`);
  return v;
}

describe("FrameSplitter construction", () => {
  it.each([[0], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])("rejects frame size %s", (size) => {
    expect(() => new FrameSplitter(size, () => undefined, false)).toThrow(RangeError);
    expect(() => new FrameSplitter(size, () => undefined, true)).toThrow(`frame size must be a positive integer, got ${size}`);
  });

  it("accepts a frame size of 1 and exposes it", () => {
    const s = new FrameSplitter(1, () => undefined, false);
    expect(s.frameSize).toBe(1);
    expect(s.emitted).toBe(0);
    expect(s.dropped).toBe(0);
  });
});

describe("FrameSplitter, every frame (latestOnly off)", () => {
  it("a chunk holding exactly one frame is handed on as a view of that chunk", () => {
    const r = recorder(6, false);
    const chunk = ownChunk(stream(6));
    r.push(chunk);
    expect(r.seen).toHaveLength(1);
    const f = at(r.seen, 0);
    expect(f.buffer).toBe(chunk.buffer);
    expect(f.byteOffset).toBe(chunk.byteOffset);
    expect(f.length).toBe(6);
    expect(f.bytes.equals(chunk)).toBe(true);
  });

  it("several frames in one chunk come out in order, each a view at its offset", () => {
    const r = recorder(4, false);
    const chunk = ownChunk(stream(12));
    r.push(chunk);
    expect(r.seen.map((f) => f.byteOffset - chunk.byteOffset)).toEqual([0, 4, 8]);
    expect(r.seen.every((f) => f.buffer === chunk.buffer)).toBe(true);
    expect(r.seen.map((f) => [...f.bytes])).toEqual([[...chunk.subarray(0, 4)], [...chunk.subarray(4, 8)], [...chunk.subarray(8, 12)]]);
    expect(r.splitter.emitted).toBe(3);
    expect(r.splitter.dropped).toBe(0);
  });

  it("a frame split across three chunks is assembled (a copy) with the right bytes", () => {
    const r = recorder(10, false);
    const data = stream(10);
    const chunks = [data.subarray(0, 3), data.subarray(3, 4), data.subarray(4, 10)].map(ownChunk);
    r.push(at(chunks, 0));
    r.push(at(chunks, 1));
    expect(r.seen).toHaveLength(0);
    r.push(at(chunks, 2));
    expect(r.seen).toHaveLength(1);
    const f = at(r.seen, 0);
    expect(f.bytes.equals(data)).toBe(true);
    expect(chunks.some((c) => c.buffer === f.buffer)).toBe(false);
  });

  it("a chunk that finishes one frame and holds the next whole one: copy, then view", () => {
    const r = recorder(4, false);
    const data = stream(10);
    r.push(ownChunk(data.subarray(0, 2)));
    const second = ownChunk(data.subarray(2, 10));
    r.push(second);
    expect(r.seen).toHaveLength(2);
    expect(at(r.seen, 0).buffer).not.toBe(second.buffer);
    expect(at(r.seen, 1).buffer).toBe(second.buffer);
    expect(at(r.seen, 1).byteOffset - second.byteOffset).toBe(2);
    expect(r.seen.map((f) => [...f.bytes])).toEqual([[...data.subarray(0, 4)], [...data.subarray(4, 8)]]);
    // The last 2 bytes wait for the next chunk.
    r.push(ownChunk(data.subarray(0, 2)));
    expect(r.seen).toHaveLength(3);
    expect([...at(r.seen, 2).bytes]).toEqual([...data.subarray(8, 10), ...data.subarray(0, 2)]);
  });

  it("a view of a larger buffer keeps its offset (chunks that are themselves subarrays)", () => {
    const r = recorder(3, false);
    const big = ownChunk(stream(20));
    const chunk = big.subarray(5, 11);
    r.push(chunk);
    expect(r.seen.map((f) => f.byteOffset)).toEqual([big.byteOffset + 5, big.byteOffset + 8]);
    expect(r.seen.map((f) => [...f.bytes])).toEqual([[...big.subarray(5, 8)], [...big.subarray(8, 11)]]);
  });

  it("empty chunks change nothing", () => {
    const r = recorder(4, false);
    r.push(Buffer.alloc(0));
    r.push(ownChunk(stream(2)));
    r.push(Buffer.alloc(0));
    expect(r.seen).toHaveLength(0);
    r.push(ownChunk(stream(2)));
    expect(r.seen).toHaveLength(1);
  });

  it("reset() forgets a partial frame", () => {
    const r = recorder(4, false);
    r.push(ownChunk(Buffer.from([9, 9, 9])));
    r.splitter.reset();
    r.push(ownChunk(Buffer.from([1, 2, 3, 4, 5])));
    expect(r.seen.map((f) => [...f.bytes])).toEqual([[1, 2, 3, 4]]);
    r.push(ownChunk(Buffer.from([6, 7, 8])));
    expect(r.seen.map((f) => [...f.bytes])).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
  });
});

describe("FrameSplitter, latest only", () => {
  it("several whole frames at once: only the newest is handed on, the rest counted as dropped", () => {
    const r = recorder(4, true);
    const chunk = ownChunk(stream(14)); // frames 0, 1, 2 and half of 3
    r.push(chunk);
    expect(r.seen).toHaveLength(1);
    const f = at(r.seen, 0);
    expect([...f.bytes]).toEqual([...chunk.subarray(8, 12)]);
    expect(f.buffer).toBe(chunk.buffer);
    expect(f.byteOffset - chunk.byteOffset).toBe(8);
    expect(r.splitter.emitted).toBe(1);
    expect(r.splitter.dropped).toBe(2);
    // The half frame is kept and completed by the next chunk.
    const next = ownChunk(Buffer.from([0xaa, 0xbb]));
    r.push(next);
    expect(r.seen).toHaveLength(2);
    expect([...at(r.seen, 1).bytes]).toEqual([...chunk.subarray(12, 14), 0xaa, 0xbb]);
    expect(at(r.seen, 1).buffer).not.toBe(next.buffer);
    expect(r.splitter.dropped).toBe(2);
  });

  it("a partial frame plus a chunk holding its end and two more frames: the partial one and the next are dropped", () => {
    const r = recorder(4, true);
    const data = stream(15);
    r.push(ownChunk(data.subarray(0, 3)));
    const chunk = ownChunk(data.subarray(3, 15)); // completes frame 0, frames 1 and 2, 3 bytes of frame 3
    r.push(chunk);
    expect(r.seen).toHaveLength(1);
    expect([...at(r.seen, 0).bytes]).toEqual([...data.subarray(8, 12)]);
    expect(at(r.seen, 0).buffer).toBe(chunk.buffer);
    expect(r.splitter.dropped).toBe(2);
    expect(r.splitter.emitted).toBe(1);
  });

  it("frames arriving one at a time are all handed on", () => {
    const r = recorder(5, true);
    const data = stream(25);
    for (let i = 0; i < 25; i += 5) r.push(ownChunk(data.subarray(i, i + 5)));
    expect(r.seen).toHaveLength(5);
    expect(r.splitter.dropped).toBe(0);
    expect(Buffer.concat(r.seen.map((f) => f.bytes)).equals(data)).toBe(true);
  });

  it("reset() forgets a partial frame", () => {
    const r = recorder(4, true);
    r.push(ownChunk(Buffer.from([9, 9])));
    r.splitter.reset();
    r.push(ownChunk(Buffer.from([1, 2, 3])));
    expect(r.seen).toHaveLength(0);
    r.push(ownChunk(Buffer.from([4])));
    expect(r.seen.map((f) => [...f.bytes])).toEqual([[1, 2, 3, 4]]);
  });
});

describe("FrameSplitter under many random chunkings (seeded)", () => {
  const RUNS = 300;

  /** Cuts `data` into random chunks: empty ones, small ones, and ones spanning several frames. */
  function chunkings(data: Buffer, frameSize: number, rand: () => number): Buffer[] {
    const chunks: Buffer[] = [];
    let offset = 0;
    while (offset < data.length) {
      const kind = rand();
      const n = kind < 0.05 ? 0 : kind < 0.5 ? randInt(rand, 1, frameSize) : randInt(rand, 1, frameSize * 4);
      chunks.push(ownChunk(data.subarray(offset, offset + n)));
      offset += n;
    }
    return chunks;
  }

  for (const [latestOnly, ownBuffer] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`latestOnly=${latestOnly}, ownBuffer=${ownBuffer}: content, order, zero-copy and counters match a model`, () => {
      for (let run = 0; run < RUNS; run++) {
        const rand = prng(0x5eed + run * 7919 + (latestOnly ? 1 : 0));
        const frameSize = randInt(rand, 1, 48);
        const frames = randInt(rand, 0, 24);
        const data = stream(frames * frameSize + randInt(rand, 0, frameSize - 1), rand);
        const chunks = chunkings(data, frameSize, rand);
        const r = recorder(frameSize, latestOnly, ownBuffer);

        /** Per chunk: its stream range and which frame indexes the model expects from it. */
        const expected: { chunk: Buffer; start: number; frames: number[] }[] = [];
        let total = 0;
        let dropped = 0;
        for (const chunk of chunks) {
          const before = Math.floor(total / frameSize);
          const after = Math.floor((total + chunk.length) / frameSize);
          let out: number[] = [];
          for (let k = before; k < after; k++) out.push(k);
          if (latestOnly && out.length > 1) {
            dropped += out.length - 1;
            out = out.slice(-1);
          }
          expected.push({ chunk, start: total, frames: out });
          total += chunk.length;
          r.push(chunk);
        }

        const expectedFrames = expected.flatMap((e) => e.frames.map((k) => ({ k, ...e })));
        const context = `run ${run}, frame size ${frameSize}, ${chunks.length} chunks`;
        expect(r.seen.length, context).toBe(expectedFrames.length);
        expect(r.splitter.emitted, context).toBe(expectedFrames.length);
        expect(r.splitter.dropped, context).toBe(dropped);
        if (!latestOnly) expect(expectedFrames.length, context).toBe(frames);

        const copyBuffers = new Set<ArrayBufferLike>();
        expectedFrames.forEach(({ k, chunk, start }, i) => {
          const seen = at(r.seen, i);
          const frameStart = k * frameSize;
          expect(seen.length, context).toBe(frameSize);
          expect(seen.chunk, context).toBe(chunk);
          expect(seen.bytes.equals(data.subarray(frameStart, frameStart + frameSize)), `${context}, frame ${k}`).toBe(true);
          const inside = frameStart >= start && frameStart + frameSize <= start + chunk.length;
          if (ownBuffer) {
            // Always the splitter's own buffer, exactly one frame long (what wrtc's onFrame needs).
            expect(seen.buffer.byteLength, context).toBe(frameSize);
            expect(seen.byteOffset, context).toBe(0);
            copyBuffers.add(seen.buffer);
          } else if (inside) {
            expect(seen.buffer, `${context}, frame ${k} should be a view`).toBe(chunk.buffer);
            expect(seen.byteOffset, context).toBe(chunk.byteOffset + frameStart - start);
          } else {
            expect(
              chunks.some((c) => c.buffer === seen.buffer),
              `${context}, frame ${k} should be a copy`,
            ).toBe(false);
            copyBuffers.add(seen.buffer);
          }
        });
        // Assembled frames always come from the one preallocated buffer.
        expect(copyBuffers.size, context).toBeLessThanOrEqual(1);
      }
    });
  }
});
