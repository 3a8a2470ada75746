/** Echo ducking: when the camera's sound goes down while a callee talks, and how it comes back. */
import { describe, expect, it } from "vitest";
import { Ducker, rmsDbfs } from "../../src/talkback/ducker.ts";
import { FRAME_SAMPLES } from "../../src/talkback/mixer.ts";
import { CameraAudio } from "../../src/media/camera-audio.ts";
import { AUDIO_CHUNK_BYTES, AUDIO_CHUNK_SAMPLES } from "../../src/media/ffmpeg-args.ts";
import { waitFor } from "../harness/wait.ts";

function tone(dbfs: number): Int16Array {
  const amp = 32768 * Math.SQRT2 * 10 ** (dbfs / 20);
  return Int16Array.from({ length: FRAME_SAMPLES }, (_, i) => Math.round(amp * Math.sin((2 * Math.PI * 1000 * i) / 48_000)));
}
const SILENCE = new Int16Array(FRAME_SAMPLES);

describe("Ducker", () => {
  it("measures RMS in dBFS", () => {
    expect(rmsDbfs(tone(-20))).toBeCloseTo(-20, 0);
    expect(rmsDbfs(SILENCE)).toBe(-Infinity);
  });

  it("ducks on the first frame of speech, holds through a pause between words, then ramps back up", () => {
    const d = new Ducker({ duckDb: 15, holdMs: 300, releaseMs: 300 });
    expect(d.frame(SILENCE)).toBe(1);
    expect(d.frame(tone(-30))).toBeCloseTo(10 ** (-15 / 20), 6);
    // A 200 ms pause (10 frames) is within the hold: still ducked.
    for (let i = 0; i < 10; i++) expect(d.frame(SILENCE)).toBeCloseTo(10 ** (-15 / 20), 6);
    expect(d.frame(tone(-30))).toBeCloseTo(10 ** (-15 / 20), 6);
    // Quiet: 15 frames of hold, then 15 frames of release, each a step up; back to 1 at the end.
    const gains: number[] = [];
    for (let i = 0; i < 40; i++) gains.push(d.frame(SILENCE));
    expect(gains.slice(0, 15).every((g) => Math.abs(g - 10 ** (-15 / 20)) < 1e-9)).toBe(true);
    for (let i = 15; i < 30; i++) expect(gains[i] ?? 0).toBeGreaterThan(gains[i - 1] ?? 1);
    expect(gains.at(-1)).toBe(1);
    expect(d.ducking).toBe(false);
  });

  it("ignores what is below the threshold (a quiet room behind noise suppression) and never ducks with duckDb 0", () => {
    const d = new Ducker({ duckDb: 15 });
    for (let i = 0; i < 20; i++) expect(d.frame(tone(-60))).toBe(1);
    const off = new Ducker({ duckDb: 0 });
    expect(off.frame(tone(-10))).toBe(1);
  });
});

describe("CameraAudio gain", () => {
  it("turns the camera's sound down without a click: the step is spread over one 10 ms chunk", async () => {
    const sent: Int16Array[] = [];
    const audio = new CameraAudio({ onData: (d) => void sent.push(Int16Array.from(d.samples)) });
    const chunk = Buffer.alloc(AUDIO_CHUNK_BYTES);
    for (let i = 0; i < AUDIO_CHUNK_SAMPLES; i++) chunk.writeInt16LE(10_000, i * 2);
    const full = (s: Int16Array | undefined): boolean => s?.every((v) => v === 10_000) === true;
    const ducked = (s: Int16Array | undefined): boolean => s?.every((v) => v === 1_000) === true;
    try {
      // A camera sending a 10 ms chunk every 5 ms: the pacer's queue never runs dry (it drops what is over).
      const camera = (): void => {
        audio.push(chunk);
      };
      await waitFor("camera sound at full level", () => (camera(), sent.some(full)), { timeoutMs: 2000, intervalMs: 5 });
      audio.setGain(0.1);
      await waitFor("camera sound turned down", () => (camera(), sent.some(ducked)), { timeoutMs: 2000, intervalMs: 5 });
    } finally {
      audio.stop();
    }
    const first = sent.findIndex(ducked);
    const ramp = sent[first - 1] ?? new Int16Array();
    // The chunk before the first turned-down one falls steadily from ~10000 to 1000, no jump larger than the ramp's step.
    expect(ramp[0]).toBeGreaterThan(9_900);
    expect(ramp.at(-1)).toBe(1_000);
    for (let i = 1; i < ramp.length; i++) expect(Math.abs((ramp[i] ?? 0) - (ramp[i - 1] ?? 0))).toBeLessThanOrEqual(20);
    expect(sent.slice(first).every((s) => ducked(s) || s.every((v) => v === 0))).toBe(true);
  });
});
