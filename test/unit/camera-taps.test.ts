/**
 * A camera lease's tap (src/media/camera-media.ts): what a MatrixRTC call's LiveKit process is fed. Real ffmpeg on
 * the demo camera through the hub; a wrtc sink on the lease's shared video track, as an encoder reads it, to compare.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CameraHub } from "../../src/media/camera-hub.ts";
import type { I420Frame, PcmChunk } from "../../src/media/camera-media.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";
import { TrackSink } from "../harness/track-sink.ts";
import { waitFor } from "../harness/wait.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const size = (f: I420Frame): string => `${String(f.width)}x${String(f.height)}`;

describe("a camera lease's tap", () => {
  it("gets the frames the track carries (scaled with it) and the camera's 10 ms PCM chunks, until it is stopped", async () => {
    // As in encode-governor.test.ts: with this budget a second call scales the picture to a quarter for both.
    const hub = new CameraHub([testCamera({ url: "demo://clock" })], { full: ffmpegPath() }, pino({ level: "silent" }), 0, 0.0001);
    cleanups.push(() => hub.stopAll());
    const lease = hub.acquire("cam");
    cleanups.push(() => {
      lease.release();
    });
    const tapped: string[] = [];
    const chunks: PcmChunk[] = [];
    let badLength = 0;
    const tap = lease.tap({
      video: (f) => {
        tapped.push(size(f));
        if (f.data.byteLength !== (f.width * f.height * 3) / 2) badLength++;
      },
      audio: (c) => chunks.push({ ...c, samples: Int16Array.from(c.samples) }),
    });
    const sunk: string[] = [];
    const sink = new TrackSink(lease, { video: (f) => sunk.push(size(f)), audio: () => undefined });
    cleanups.push(() => {
      sink.stop();
    });

    await waitFor("full-size frames through the tap and the track", () => tapped.includes("320x240") && sunk.includes("320x240"), {
      timeoutMs: 15_000,
    });
    await waitFor("audio chunks through the tap", () => chunks.length >= 10, { timeoutMs: 15_000 });
    for (const c of chunks.slice(0, 10)) expect([c.sampleRate, c.channelCount, c.frames, c.samples.length]).toEqual([48_000, 1, 480, 480]);
    // This camera's sound is off: the chunks are silence, and none is counted as the camera's own (operations.test.ts
    // counts a PCMA camera's).
    expect(hub.stats()["cam"]?.audioChunks).toEqual({ played: 0, silent: 0, dropped: 0 });

    const second = hub.acquire("cam");
    cleanups.push(() => {
      second.release();
    });
    tapped.length = 0;
    sunk.length = 0;
    await waitFor("quarter-size frames through both", () => tapped.filter((s) => s === "80x60").length >= 5 && sunk.includes("80x60"), {
      timeoutMs: 15_000,
    });
    // What the tap got after the first quarter-size frame is what the track carried: quarter size only.
    expect(new Set(tapped.slice(tapped.indexOf("80x60")))).toEqual(new Set(["80x60"]));
    expect(badLength).toBe(0);

    // stop(): nothing more, from the next frame on (the tap is called as the pipeline feeds its sources).
    tap.stop();
    tap.stop();
    const [framesAtStop, chunksAtStop] = [tapped.length, chunks.length];
    sunk.length = 0;
    await waitFor("more frames through the track", () => sunk.length >= 5, { timeoutMs: 15_000 });
    expect([tapped.length, chunks.length]).toEqual([framesAtStop, chunksAtStop]);
  });
});
