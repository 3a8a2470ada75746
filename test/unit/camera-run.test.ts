/**
 * One ffmpeg run and its owner on real ffmpeg: frames are cut at the size ffmpeg reports, the run's end carries
 * what stderr said, and a camera without audio falls back to video only (the restart policy's "fallback" row,
 * carried out by CameraPipeline).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CameraPipeline } from "../../src/media/camera-pipeline.ts";
import { buildCameraArgs } from "../../src/media/ffmpeg-args.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { CameraRun, type RunEnd } from "../../src/media/camera-run.ts";
import { createLogger } from "../../src/util/logger.ts";
import { waitFor } from "../harness/wait.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

const log = createLogger({ level: "silent" });

/** A 2 s 160x120 clip without an audio stream. */
function silentClip(): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "mcc-run-")), "video-only.mkv");
  execFileSync(ffmpegPath(), ["-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=2", "-c:v", "mpeg4", file]);
  return file;
}

describe("CameraRun", () => {
  it("delivers I420 frames of the reported size, PCM, and on stop() an end with its frame count", async () => {
    const args = buildCameraArgs({ url: "demo://", maxWidth: 160, maxHeight: 120, maxFps: 10, audio: true });
    const run = new CameraRun({ binary: ffmpegPath(), args, layout: "ffmpeg" }, log);
    const sizes: { width: number; height: number }[] = [];
    let frameBytes = 0;
    let pcmBytes = 0;
    let firstFrames = 0;
    let end: RunEnd | undefined;
    run.on("size", (s) => sizes.push(s));
    run.on("frame", (f) => (frameBytes = f.data.length));
    run.on("firstFrame", () => firstFrames++);
    run.on("pcm", (c) => (pcmBytes += c.length));
    run.once("exit", (e) => (end = e));
    run.start();
    await waitFor("three frames and some sound", () => run.frames >= 3 && pcmBytes > 0, { timeoutMs: 10_000 });
    await run.stop();
    const framesAtStop = run.frames;
    expect(sizes).toEqual([{ width: 160, height: 120 }]);
    expect(frameBytes).toBe((160 * 120 * 3) / 2);
    expect(firstFrames).toBe(1);
    await waitFor("the exit", () => end !== undefined);
    expect(end).toMatchObject({ endedFor: undefined, missingAudio: false, hwFailed: false, frames: framesAtStop });
    expect(end?.exit.requested).toBe(true);
  });

  it("end() records its reason once; the exit reports the first one", async () => {
    const args = buildCameraArgs({ url: "demo://", maxWidth: 160, maxHeight: 120, maxFps: 10, audio: false });
    const run = new CameraRun({ binary: ffmpegPath(), args, layout: "ffmpeg" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    await waitFor("a frame", () => run.frames > 0, { timeoutMs: 10_000 });
    run.end("resync");
    run.end("stall");
    expect(run.ending).toBe(true);
    expect((await exit).endedFor).toBe("resync");
  });
});

describe("CameraRun falling behind", () => {
  /** The bot's command line for the demo camera, its live sources read at `rate` × real time (1: as the bot runs it). */
  function demoAt(rate: number): string[] {
    const args = buildCameraArgs({ url: "demo://", maxWidth: 160, maxHeight: 120, maxFps: 10, audio: false });
    return args.flatMap((a) => (a === "-re" ? ["-readrate", String(rate)] : [a]));
  }

  it("a front end slower than the live picture is reported late (once), well before it is behind", async () => {
    // ffmpeg reading its live source at half speed: the picture falls half a second behind every second, as a front
    // end starved of CPU does.
    const run = new CameraRun({ binary: ffmpegPath(), args: demoAt(0.5), layout: "ffmpeg" }, log);
    const late: number[] = [];
    let behindAt: number | undefined;
    run.on("late", (riseMs) => late.push(riseMs));
    run.on("behind", () => (behindAt ??= late.length));
    run.start();
    try {
      await waitFor("the run reported late", () => late.length > 0, { timeoutMs: 15_000 });
      expect(late[0]).toBeGreaterThan(500);
      expect(behindAt).toBeUndefined(); // the resync (2 s behind, held 3 s) comes later, if at all
      await waitFor("a resync asked for", () => behindAt !== undefined, { timeoutMs: 20_000 });
      expect(late).toHaveLength(1);
    } finally {
      await run.stop();
    }
  });

  it("a front end in step with the live picture is never reported late", async () => {
    const run = new CameraRun({ binary: ffmpegPath(), args: demoAt(1), layout: "ffmpeg" }, log);
    let late = 0;
    run.on("late", () => late++);
    run.start();
    try {
      // 6 s of frames: longer than the slow run above took to be reported (about 3.5 s).
      await waitFor("60 frames", () => run.frames >= 60, { timeoutMs: 20_000 });
      expect(late).toBe(0);
      expect(run.lagMs).toBeLessThan(500);
    } finally {
      await run.stop();
    }
  });
});

describe("CameraPipeline falling behind", () => {
  it("passes its run's late on (the hub's budget cut listens to the pipeline)", async () => {
    // The real ffmpeg behind a shell wrapper that reads the live source at half speed, as in CameraRun's test above:
    // the pipeline builds its own command line, so the rate is changed where the command runs.
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-slow-"));
    const slow = path.join(dir, "ffmpeg");
    writeFileSync(
      slow,
      [
        "#!/bin/sh",
        'for a do shift; if [ "$a" = "-re" ]; then set -- "$@" -readrate 0.5; else set -- "$@" "$a"; fi; done',
        `exec '${ffmpegPath()}' "$@"`,
      ].join("\n"),
    );
    chmodSync(slow, 0o755);
    const pipeline = new CameraPipeline(testCamera({ url: "demo://", maxWidth: 160, maxHeight: 120 }), { full: slow }, log);
    const late: number[] = [];
    pipeline.on("late", (riseMs) => late.push(riseMs));
    pipeline.start();
    try {
      await waitFor("the pipeline reported late", () => late.length > 0, { timeoutMs: 15_000 });
      expect(late[0]).toBeGreaterThan(500);
      expect(pipeline.getState()).toBe("running");
    } finally {
      await pipeline.stop();
    }
    expect(liveFfmpegCount()).toBe(0);
  });
});

describe("CameraPipeline with a source without audio", () => {
  it("falls back to video only and streams, without counting a restart", async () => {
    const camera = testCamera({ url: silentClip(), maxWidth: 160, maxHeight: 120, audio: true });
    const pipeline = new CameraPipeline(camera, { full: ffmpegPath() }, log);
    pipeline.start();
    try {
      await waitFor("video to flow", () => pipeline.getState() === "running", { timeoutMs: 10_000 });
      expect(pipeline.stats()).toMatchObject({ audio: false, restarts: 0, width: 160, height: 120 });
    } finally {
      await pipeline.stop();
    }
    expect(liveFfmpegCount()).toBe(0);
  });
});
