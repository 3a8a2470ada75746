/**
 * A child with the gst-launch pipe layout (video on fd 3, audio on fd 4, log lines on stdout and stderr, ended by
 * SIGTERM) run through CameraRun: what its lines make of the run.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CameraRun, type RunEnd } from "../../src/media/camera-run.ts";
import { isGstCameraGone } from "../../src/media/gst-front-end.ts";
import { createLogger } from "../../src/util/logger.ts";
import { waitFor } from "../harness/wait.ts";
import { H265_MANAGER_PAD, H265_PAD, SINK_CAPS } from "./fixtures/gst-lines.ts";

const log = createLogger({ level: "silent" });

/**
 * A stand-in gst-launch-1.0: prints `lines` on stdout, then writes two 4x2 I420 frames to fd 3 (100 ms apart) and
 * PCM to fd 4, then waits. With `failWith`, it prints those lines on stderr after the stdout ones and exits with 1
 * at once instead (gst-launch refusing a chain that does not link). Without `frames` it writes nothing and waits.
 */
function standIn(lines: string[], failWith?: string[], frames = true): string {
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-gst-"));
  const script = path.join(dir, "gst.cjs");
  const rest =
    failWith === undefined && !frames
      ? ["setInterval(() => {}, 1000);"]
      : failWith === undefined
        ? [
            "setTimeout(() => { fs.writeSync(3, Buffer.alloc(12, 7)); fs.writeSync(4, Buffer.alloc(960)); }, 100);",
            "setTimeout(() => { fs.writeSync(3, Buffer.alloc(12, 7)); }, 200);",
            "setInterval(() => {}, 1000);",
          ]
        : [`for (const l of ${JSON.stringify(failWith)}) fs.writeSync(2, l + '\\n');`, "process.exit(1);"];
  writeFileSync(
    script,
    ["const fs = require('node:fs');", `for (const l of ${JSON.stringify(lines)}) fs.writeSync(1, l + '\\n');`, ...rest].join("\n"),
  );
  const bin = path.join(dir, "gst-launch-1.0");
  writeFileSync(bin, `#!/bin/sh\nexec ${process.execPath} ${script}\n`);
  chmodSync(bin, 0o755);
  return bin;
}

describe("CameraRun with the gst-launch layout", () => {
  it("reads the size from stdout, frames from fd 3, PCM from fd 4, and stops the child with SIGTERM", async () => {
    const caps = SINK_CAPS.replace("width=(int)300, height=(int)224", "width=(int)4, height=(int)2");
    const run = new CameraRun({ binary: standIn([caps]), args: [], layout: "gst-launch" }, log);
    let pcm = 0;
    run.on("pcm", (c) => (pcm += c.length));
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    await waitFor("two frames and the PCM", () => run.frames === 2 && pcm === 960, { timeoutMs: 10_000 });
    await run.stop();
    const end = await exit;
    expect(end).toMatchObject({ frontEndFailed: false, frames: 2 });
    expect(end.exit.signal).toBe("SIGTERM");
  });

  it("a camera in another codec ends the run at once, marked as the front end's failure, naming a codec it has a chain for", async () => {
    const run = new CameraRun({ binary: standIn([H265_PAD]), args: [], layout: "gst-launch" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    expect(await exit).toMatchObject({ frontEndFailed: true, gstCodec: "h265", frames: 0 });
    const jpeg = new CameraRun(
      { binary: standIn([H265_PAD.replace("H265", "JPEG")]), args: [], layout: "gst-launch", gstCodec: "h265" },
      log,
    );
    const jpegExit = new Promise<RunEnd>((resolve) => jpeg.once("exit", resolve));
    jpeg.start();
    expect(await jpegExit).toMatchObject({ frontEndFailed: true, gstCodec: undefined, frames: 0 });
  });

  it("keeps the announced codec when gst-launch's own error follows it and the child exits at once", async () => {
    // Under load the caps line (stdout) and the "not-linked" error (stderr) both arrive before the child is
    // stopped, in either order, and the exit can be seen before either is read: every run must name H.265.
    const bin = standIn(
      [H265_PAD],
      [
        "ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:src: Internal data stream error.",
        "streaming stopped, reason not-linked (-1)",
      ],
    );
    for (let i = 0; i < 10; i++) {
      const run = new CameraRun({ binary: bin, args: [], layout: "gst-launch" }, log);
      const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
      run.start();
      expect(await exit).toMatchObject({ frontEndFailed: true, gstCodec: "h265", frames: 0 });
    }
  });

  it("names the codec from the RTP manager's caps when the not-linked error ends gst-launch before rtspsrc's own pad says it", async () => {
    // The order of a failing CI run: the manager's pads print H265, then the error, and rtspsrc's pad never does.
    const bin = standIn(
      [H265_MANAGER_PAD, "Execution ended after 0:00:00.050058858", "Setting pipeline to NULL ..."],
      [
        "ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:src: Internal data stream error.",
        "streaming stopped, reason not-linked (-1)",
      ],
    );
    const run = new CameraRun({ binary: bin, args: [], layout: "gst-launch" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    expect(await exit).toMatchObject({ frontEndFailed: true, gstCodec: "h265", frames: 0 });
  });

  it("the H.265 chain reading an H.265 camera is no failure", async () => {
    const caps = SINK_CAPS.replace("width=(int)300, height=(int)224", "width=(int)4, height=(int)2");
    const run = new CameraRun({ binary: standIn([H265_PAD, caps]), args: [], layout: "gst-launch", gstCodec: "h265" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    await waitFor("a frame", () => run.frames > 0, { timeoutMs: 10_000 });
    await run.stop();
    expect(await exit).toMatchObject({ frontEndFailed: false, gstCodec: undefined });
  });

  it("rtspsrc's warning that the camera closed the connection ends the run, as a camera outage", async () => {
    const gone = [
      "WARNING: from element /GstPipeline:pipeline0/GstRTSPSrc:src: Could not read from resource.",
      "Additional debug info:",
      "The server closed the connection.",
    ];
    expect(gone.map(isGstCameraGone)).toEqual([true, false, false]);
    // The stand-in prints its lines and then writes frames and stays up: only the warning can end it.
    const run = new CameraRun({ binary: standIn([SINK_CAPS, ...gone]), args: [], layout: "gst-launch" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    expect(await exit).toMatchObject({ frontEndFailed: false, endedFor: undefined });
  });

  it("a run that never gets its first frame (a camera with sound but no picture) ends as stalled", async () => {
    const run = new CameraRun({ binary: standIn([SINK_CAPS], undefined, false), args: [], layout: "gst-launch" }, log, {
      gstFirstFrameMs: 300,
    });
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    expect(await exit).toMatchObject({ endedFor: "stall", frontEndFailed: false, frames: 0 });
  });

  it("a gst-launch-1.0 that is not installed is the front end's failure too", async () => {
    const run = new CameraRun({ binary: "/nonexistent/gst-launch-1.0", args: [], layout: "gst-launch" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    expect((await exit).frontEndFailed).toBe(true);
  });
});
