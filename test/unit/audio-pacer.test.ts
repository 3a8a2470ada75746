import { describe, expect, it } from "vitest";
import { AudioPacer } from "../../src/media/audio-pacer.ts";
import { AUDIO_CHUNK_BYTES } from "../../src/media/ffmpeg-args.ts";

/** A pacer whose output records, per 10 ms slot, the chunk's first byte (0 = silence). */
function rig(): { pacer: AudioPacer; out: number[] } {
  const out: number[] = [];
  const pacer = new AudioPacer((chunk) => out.push(chunk[0] ?? -1));
  return { pacer, out };
}

/** One ffmpeg write of `chunks` 10 ms chunks, numbered from `first` (1..255, wrapping). */
function burst(pacer: AudioPacer, first: number, chunks: number): void {
  pacer.noteBurst(chunks * AUDIO_CHUNK_BYTES);
  for (let i = 0; i < chunks; i++) pacer.add(new Uint8Array(AUDIO_CHUNK_BYTES).fill(((first + i - 1) % 255) + 1));
}

describe("AudioPacer", () => {
  it("sends one chunk per 10 ms of wall clock, silence while there is no camera audio", () => {
    const { pacer, out } = rig();
    for (let t = 0; t <= 1000; t += 7) pacer.tick(t);
    expect(out.length).toBe(Math.floor(994 / 10));
    expect(out.every((b) => b === 0)).toBe(true);
  });

  it("camera audio in 128 ms bursts goes out evenly, in order, with no gap once buffered", () => {
    const { pacer, out } = rig();
    let next = 1;
    // A burst of 12.8 chunks every 128 ms: 64 chunks every 640 ms, delivered as 5 writes of 13,13,13,13,12.
    const sizes = [13, 13, 13, 13, 12];
    let at = 0;
    for (let k = 0; k < 50; k++) {
      const size = sizes[k % sizes.length] ?? 13;
      burst(pacer, next, size);
      next += size;
      const until = at + size * 10;
      for (let t = at; t < until; t += 5) pacer.tick(t);
      at = until;
    }
    const firstAudio = out.findIndex((b) => b !== 0);
    const played = out.slice(firstAudio);
    // Once it starts, every slot carries the next chunk: no silence in between, nothing reordered or lost.
    expect(played.every((b, i) => b === (i % 255) + 1)).toBe(true);
    expect(pacer.counts.dropped).toBe(0);
    expect(pacer.counts.silent).toBe(0);
    // It holds about one burst (the target), never more than two.
    expect(pacer.targetChunks).toBe(15);
    expect(pacer.queued).toBeLessThanOrEqual(2 * pacer.targetChunks);
  });

  it("a camera clock 5 % fast cannot build up delay: the oldest chunks are dropped down to the target", () => {
    const { pacer } = rig();
    let next = 1;
    let maxQueued = 0;
    // 2 chunks every 19 ms instead of every 20 ms.
    for (let k = 0; k < 2000; k++) {
      burst(pacer, next, 2);
      next += 2;
      pacer.tick(k * 19);
      maxQueued = Math.max(maxQueued, pacer.queued);
    }
    expect(pacer.counts.dropped).toBeGreaterThan(0);
    // Bounded: the excess is dropped once it has stood for a second, so the queue holds at most the target, a
    // second of the 5 % drift (5 chunks) and the bursts' and ticks' jitter (2 each way) — without the drop it grows
    // by 5 chunks a second, to 190 over these 38 s.
    expect(maxQueued).toBeLessThanOrEqual(pacer.targetChunks + 11);
  });

  it("a loaded machine reads the pipe late and in clumps: nothing is dropped, every chunk plays in order", () => {
    const { pacer, out } = rig();
    let next = 1;
    // The camera's 128 ms packets (12.8 chunks; 13, 13, 13, 13, 12), read three at a time every 384 ms, as the
    // call-path e2e run saw with three copies of it and two busy loops on two cores; the pacer ticks every 10 ms.
    const sizes = [13, 13, 13, 13, 12];
    let k = 0;
    for (let t = 0; t < 20_000; t += 10) {
      if (t % 384 < 10) {
        for (let i = 0; i < 3; i++, k++) {
          const size = sizes[k % sizes.length] ?? 13;
          burst(pacer, next, size);
          next += size;
        }
      }
      pacer.tick(t);
    }
    const audio = out.filter((b) => b !== 0);
    expect(pacer.counts.dropped, "chunks dropped").toBe(0);
    expect(
      audio.every((b, i) => i === 0 || b === ((audio[i - 1] ?? 0) % 255) + 1),
      "in order, none lost",
    ).toBe(true);
    expect(audio.length, "chunks played").toBeGreaterThan(0.95 * (next - 1) - 2 * pacer.targetChunks);
  });

  it("a camera clock that is slow runs dry now and then: silence fills in, then it buffers again", () => {
    const { pacer, out } = rig();
    let next = 1;
    // 2 chunks every 21 ms.
    for (let k = 0; k < 500; k++) {
      burst(pacer, next, 2);
      next += 2;
      pacer.tick(k * 21);
    }
    expect(pacer.counts.silent).toBeGreaterThan(0);
    const audio = out.filter((b) => b !== 0);
    // Whatever played, played in order.
    expect(audio.every((b, i) => i === 0 || b === ((audio[i - 1] ?? 0) % 255) + 1)).toBe(true);
  });

  it("clear(): queued audio is dropped and silence follows at once", () => {
    const { pacer, out } = rig();
    burst(pacer, 1, 10);
    pacer.tick(0);
    pacer.tick(50);
    pacer.clear();
    const before = out.length;
    pacer.tick(200);
    expect(out.slice(before).every((b) => b === 0)).toBe(true);
    expect(pacer.queued).toBe(0);
  });
});
