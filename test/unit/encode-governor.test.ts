/**
 * The encode budget at work in the camera hub (src/media/encode-governor.ts): real ffmpeg on the demo camera, the
 * hub's shared video track read by a wrtc sink as a call's encoder would read it. With a budget no two calls fit,
 * a second call scales the camera's picture down for both (the frame rate stays); when it ends, the first call gets
 * the full picture again. One log line each way. A camera's picture falling behind (the pipeline's late) cuts the
 * budget while calls share the machine, not for a single call.
 */
import { availableParallelism } from "node:os";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CameraHub } from "../../src/media/camera-hub.ts";
import type { CameraLease } from "../../src/media/camera-hub.ts";
import { TrackSink } from "../harness/track-sink.ts";
import { waitFor } from "../harness/wait.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

interface Line {
  level: number;
  msg: string;
  scaled?: Record<string, string>;
}

/** The sizes of the frames a lease's shared video track carries (a wrtc sink on it, as an encoder reads it). */
function watchSizes(lease: CameraLease): string[] {
  const sizes: string[] = [];
  const tap = new TrackSink(lease, {
    video: (frame) => sizes.push(`${String(frame.width)}x${String(frame.height)}`),
    audio: () => undefined,
  });
  cleanups.push(() => {
    tap.stop();
  });
  return sizes;
}

const camera = testCamera({ url: "demo://clock" });

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("the camera hub under an encode budget", () => {
  it("scales a camera's picture for all its calls while they exceed the budget, and back when one ends", async () => {
    const lines: Line[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
    // 0.0001 Mpx/s per core: not even two calls at a sixteenth of the pixels fit, so a second call means a quarter.
    const hub = new CameraHub([camera], { full: ffmpegPath() }, log, 0, 0.0001);
    cleanups.push(() => hub.stopAll());

    const first = hub.acquire("cam");
    cleanups.push(() => {
      first.release();
    });
    const sizes = watchSizes(first);
    await waitFor("full-size frames for one call", () => sizes.includes("320x240"), { timeoutMs: 15_000 });
    expect(hub.stats()["cam"]?.divisor).toBe(1);

    const second = hub.acquire("cam");
    expect(second.video).toBe(first.video);
    expect(hub.stats()["cam"]?.divisor).toBe(4);
    sizes.length = 0;
    await waitFor("quarter-size frames for both calls", () => sizes.filter((s) => s === "80x60").length >= 5, { timeoutMs: 15_000 });
    const degraded = lines.filter((l) => l.msg.startsWith("more calls than the CPU encodes"));
    expect(degraded).toHaveLength(1);
    expect(degraded[0]?.scaled).toEqual({ cam: "80x60" });

    second.release();
    expect(hub.stats()["cam"]?.divisor).toBe(1);
    sizes.length = 0;
    await waitFor("full-size frames again", () => sizes.filter((s) => s === "320x240").length >= 5, { timeoutMs: 15_000 });
    expect(lines.filter((l) => l.msg.startsWith("encode load within budget"))).toHaveLength(1);
  });

  it("the budget's share for this machine's speed (setSpeedShare) scales pictures that fit the whole budget, and back", async () => {
    // 10 Mpx/s in all: two calls of the 320×240 clock at 10 fps (5.5 Mpx/s with the part per frame) fit; at half of
    // it they do not, and at 160×120 (4.4) they do.
    const hub = new CameraHub([camera], { full: ffmpegPath() }, pino({ level: "silent" }), 0, 10 / availableParallelism());
    cleanups.push(() => hub.stopAll());
    const first = hub.acquire("cam");
    const second = hub.acquire("cam");
    cleanups.push(() => {
      first.release();
      second.release();
    });
    const sizes = watchSizes(first);
    await waitFor("full-size frames", () => sizes.includes("320x240"), { timeoutMs: 15_000 });
    expect(hub.stats()["cam"]?.divisor).toBe(1);
    hub.setSpeedShare(0.5);
    expect(hub.stats()["cam"]?.divisor).toBe(2);
    hub.setEncodeBudget(10 / availableParallelism()); // the bench's switch keeps the share
    expect(hub.stats()["cam"]?.divisor).toBe(2);
    hub.setSpeedShare(1);
    expect(hub.stats()["cam"]?.divisor).toBe(1);
  });

  it("a camera's picture falling behind lowers the budget while calls share the machine, and it is whole with one call", async () => {
    const lines: Line[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
    // 7 Mpx/s in all: two calls of the 320×240 clock at 10 fps (5.5 Mpx/s counted) fit; at the cut's 0.7 (4.9) they
    // do not, and at 160×120 (4.4) they do.
    const budget = 7e6;
    const hub = new CameraHub([camera], { full: ffmpegPath() }, log, 0, budget / 1e6 / availableParallelism());
    cleanups.push(() => hub.stopAll());
    const pipeline = hub.pipeline("cam");
    if (!pipeline) throw new Error("no pipeline");
    const first = hub.acquire("cam");
    cleanups.push(() => {
      first.release();
    });
    const sizes = watchSizes(first);
    await waitFor("full-size frames", () => sizes.includes("320x240"), { timeoutMs: 15_000 });

    // One call: nothing to scale, the budget stays whole (CameraRun's late is proven on a slow ffmpeg in camera-run.test.ts).
    pipeline.emit("late", 800);
    expect(hub.encodeBudget()).toBeCloseTo(budget);

    const second = hub.acquire("cam");
    expect(hub.stats()["cam"]?.divisor).toBe(1);
    pipeline.emit("late", 800);
    expect(hub.encodeBudget()).toBeCloseTo(budget * 0.7);
    expect(hub.stats()["cam"]?.divisor).toBe(2);
    sizes.length = 0;
    await waitFor("half-size frames for both calls", () => sizes.filter((s) => s === "160x120").length >= 5, { timeoutMs: 15_000 });
    expect(lines.filter((l) => l.msg.startsWith("a camera's picture is falling behind"))).toHaveLength(1);
    // The same overload seen again at once (another camera, the next report) does not cut twice.
    pipeline.emit("late", 900);
    expect(hub.encodeBudget()).toBeCloseTo(budget * 0.7);

    second.release();
    expect(hub.encodeBudget()).toBeCloseTo(budget);
    expect(hub.stats()["cam"]?.divisor).toBe(1);
    sizes.length = 0;
    await waitFor("full-size frames again", () => sizes.filter((s) => s === "320x240").length >= 5, { timeoutMs: 15_000 });
  });

  it("without a budget (0) the picture is never scaled", async () => {
    const hub = new CameraHub([camera], { full: ffmpegPath() }, pino({ level: "silent" }), 0, 0);
    cleanups.push(() => hub.stopAll());
    const first = hub.acquire("cam");
    const leases = [first, hub.acquire("cam"), hub.acquire("cam")];
    cleanups.push(() => {
      for (const l of leases) l.release();
    });
    const sizes = watchSizes(first);
    await waitFor("frames", () => sizes.length >= 5, { timeoutMs: 15_000 });
    expect(new Set(sizes)).toEqual(new Set(["320x240"]));
    expect(hub.stats()["cam"]?.divisor).toBe(1);
  });
});
