/**
 * The GStreamer front end's command line and the lines it reads back, and a child with the gst-launch pipe layout
 * (video on fd 3, audio on fd 4, log lines on stdout and stderr, ended by SIGTERM) run through CameraRun.
 */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CameraConfig } from "../../src/config/load.ts";
import { CameraRun, type RunEnd } from "../../src/media/camera-run.ts";
import { isProgressLine } from "../../src/media/ffmpeg-process.ts";
import { initialFrontEnd } from "../../src/media/front-end.ts";
import {
  buildGstArgs,
  gstCanRead,
  gstCodecOf,
  gstFrameTimeMs,
  gstSizeFromLine,
  gstVideoEncoding,
  isGstCameraGone,
  isGstUnsupported,
} from "../../src/media/gst-front-end.ts";
import { createLogger } from "../../src/util/logger.ts";
import { waitFor } from "../harness/wait.ts";

const log = createLogger({ level: "silent" });
const SINK_CAPS =
  "/GstPipeline:pipeline0/GstFdSink:vsink.GstPad:sink: caps = video/x-raw, format=(string)I420, width=(int)300, height=(int)224, interlace-mode=(string)progressive, pixel-aspect-ratio=(fraction)1/1";
const H265_PAD =
  "/GstPipeline:pipeline0/GstRTSPSrc:src.GstGhostPad:recv_rtp_src_0_1062811340_96: caps = application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H265, sprop-vps=(string)x";

/** The first caps line of an H.265 camera, from the RTP manager inside rtspsrc (a run under load, 2026-12-01). */
const H265_MANAGER_PAD =
  "/GstPipeline:pipeline0/GstRTSPSrc:src/GstRtpBin:manager.GstGhostPad:recv_rtp_sink_0.GstProxyPad:proxypad1: caps = application/x-rtp, media=(string)video, payload=(int)96, clock-rate=(int)90000, encoding-name=(string)H265, sprop-vps=(string)x";

describe("buildGstArgs", () => {
  const args = buildGstArgs({ url: "rtsp://u:p w@cam/s?x=1&y=2", maxWidth: 1281, maxHeight: 721, maxFps: 15, audio: true });

  it("keeps the URL one argv entry and reads it over TCP without a jitter buffer", () => {
    expect(args).toContain("location=rtsp://u:p w@cam/s?x=1&y=2");
    expect(args).toEqual(expect.arrayContaining(["-v", "protocols=tcp", "latency=0", "avdec_h264", "thread-type=slice"]));
  });

  it("fits the picture into even sizes up to the cap, drops frames above maxFps, writes video to fd 3 and audio to fd 4", () => {
    expect(args).toContain("video/x-raw,format=I420,width=(int)[2,1280,2],height=(int)[2,720,2],pixel-aspect-ratio=1/1");
    expect(args).toEqual(expect.arrayContaining(["drop-only=true", "max-rate=15", "name=vsink", "fd=3", "name=asink", "fd=4"]));
    expect(args).toContain("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1");
  });

  it("without audio has no audio branch", () => {
    const video = buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false });
    expect(video).not.toContain("fd=4");
    expect(video.join(" ")).not.toContain("media=audio");
  });

  it("decodes H.264 by default and H.265 when asked", () => {
    expect(args.join(" ")).toContain("rtph264depay ! avdec_h264 thread-type=slice");
    const h265 = buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false, codec: "h265" });
    expect(h265.join(" ")).toContain("rtph265depay ! avdec_h265 thread-type=slice");
    expect([gstCodecOf("H264"), gstCodecOf("h265"), gstCodecOf("JPEG"), gstCodecOf("MP4V-ES")]).toEqual([
      "h264",
      "h265",
      undefined,
      undefined,
    ]);
  });

  it("is only for RTSP cameras", () => {
    expect([
      gstCanRead("rtsp://cam/s"),
      gstCanRead("RTSPS://cam/s"),
      gstCanRead("demo://"),
      gstCanRead("/tmp/clip.mkv"),
      gstCanRead("http://cam/mjpeg"),
    ]).toEqual([true, true, false, false, false]);
  });
});

describe("gst-launch lines", () => {
  it("the video sink's negotiated caps give the output size; other caps lines do not", () => {
    expect(gstSizeFromLine(SINK_CAPS)).toEqual({ width: 300, height: 224 });
    expect(gstSizeFromLine(SINK_CAPS.replace("vsink", "asink"))).toBeUndefined();
    expect(
      gstSizeFromLine(
        "/GstPipeline:pipeline0/GstVideoScale:videoscale0.GstPad:src: caps = video/x-raw, format=(string)I420, width=(int)300, height=(int)224",
      ),
    ).toBeUndefined();
  });

  it("rtspsrc's pads and those of its RTP manager name the video codec; audio pads and the decoding chain do not count", () => {
    expect(gstVideoEncoding(H265_PAD)).toBe("H265");
    expect(gstVideoEncoding(H265_PAD.replace("H265", "H264"))).toBe("H264");
    expect(gstVideoEncoding(H265_PAD.replace("_96: caps", "_96.GstProxyPad:proxypad8: caps"))).toBe("H265");
    expect(gstVideoEncoding(H265_MANAGER_PAD)).toBe("H265");
    expect(gstVideoEncoding(H265_PAD.replace("media=(string)video", "media=(string)audio"))).toBeUndefined();
    expect(
      gstVideoEncoding(
        "/GstPipeline:pipeline0/GstRtpH265Depay:rtph265depay0.GstPad:sink: caps = application/x-rtp, media=(string)video, encoding-name=(string)H265",
      ),
    ).toBeUndefined();
    expect(
      gstVideoEncoding("/GstPipeline:pipeline0/GstCapsFilter:capsfilter4: caps = application/x-rtp, media=(string)video"),
    ).toBeUndefined();
  });

  it("the lag probe's line for a written frame gives its timestamp; its other lines are probe lines without one", () => {
    const chain =
      "/GstPipeline:pipeline0/GstIdentity:lagprobe: last-message = chain   ******* (lagprobe:sink) (345600 bytes, dts: none, pts: 1:02:03.044387400, duration: 0:00:00.040000000, offset: -1, offset_end: -1, flags: 00000040 discont , meta: none) 0x7fa81c0126c0";
    const event =
      '/GstPipeline:pipeline0/GstIdentity:lagprobe: last-message = event   ******* (lagprobe:sink) E (type: segment (17934), GstEventSegment, segment=(GstSegment)"segment, base=(guint64)50086178";) 0x7fee84005960';
    const noPts = chain.replace("pts: 1:02:03.044387400", "pts: none");
    expect(gstFrameTimeMs(chain)).toBeCloseTo((3600 + 2 * 60 + 3.0443874) * 1000, 3);
    expect([gstFrameTimeMs(event), gstFrameTimeMs(noPts), gstFrameTimeMs(SINK_CAPS)]).toEqual([undefined, undefined, undefined]);
    expect([isProgressLine(chain), isProgressLine(event), isProgressLine(SINK_CAPS)]).toEqual([true, true, false]);
    expect(buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false }).join(" ")).toContain(
      "! identity name=lagprobe silent=false ! fdsink name=vsink",
    );
  });

  it("recognises gst-launch's errors for a pipeline that cannot work here", () => {
    expect(isGstUnsupported('WARNING: erroneous pipeline: no element "avdec_h264"')).toBe(true);
    expect(isGstUnsupported("streaming stopped, reason not-negotiated (-4)")).toBe(true);
    expect(isGstUnsupported("Progress: (connect) Connecting to rtsp://cam/s")).toBe(false);
    expect(isGstUnsupported("Could not open resource for reading and writing.")).toBe(false);
  });
});

describe("initialFrontEnd", () => {
  const camera = (url: string, frontEnd: CameraConfig["frontEnd"], hwaccel: CameraConfig["hwaccel"] = "none"): CameraConfig => ({
    name: "cam",
    url,
    description: undefined,
    maxWidth: 640,
    maxHeight: 480,
    maxFps: 25,
    audio: true,
    keepWarm: false,
    hwaccel,
    frontEnd,
    ring: undefined,
  });

  const installed = (): boolean => true;
  const missing = (): boolean => false;

  it("is GStreamer by default and when asked for, for an RTSP camera decoded in software", () => {
    expect(initialFrontEnd(camera("rtsp://cam/s", "gstreamer"), log, installed)).toBe("gstreamer");
    expect(initialFrontEnd(camera("rtsp://cam/s", undefined), log, installed)).toBe("gstreamer");
    expect(initialFrontEnd(camera("rtsp://cam/s", "ffmpeg"), log, installed)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("demo://", "gstreamer"), log, installed)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("demo://", undefined), log, installed)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("rtsp://cam/s", "gstreamer", "vaapi"), log, installed)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("rtsp://cam/s", undefined, "auto"), log, installed)).toBe("ffmpeg");
  });

  it("is ffmpeg when gst-launch-1.0 is not installed, asked for or not", () => {
    expect(initialFrontEnd(camera("rtsp://cam/s", "gstreamer"), log, missing)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("rtsp://cam/s", undefined), log, missing)).toBe("ffmpeg");
  });
});

/**
 * A stand-in gst-launch-1.0: prints `lines` on stdout, then writes two 4x2 I420 frames to fd 3 (100 ms apart) and
 * PCM to fd 4, then waits. With `failWith`, it prints those lines on stderr after the stdout ones and exits with 1
 * at once instead (gst-launch refusing a chain that does not link).
 */
function standIn(lines: string[], failWith?: string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-gst-"));
  const script = path.join(dir, "gst.cjs");
  const rest =
    failWith === undefined
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

  it("a gst-launch-1.0 that is not installed is the front end's failure too", async () => {
    const run = new CameraRun({ binary: "/nonexistent/gst-launch-1.0", args: [], layout: "gst-launch" }, log);
    const exit = new Promise<RunEnd>((resolve) => run.once("exit", resolve));
    run.start();
    expect((await exit).frontEndFailed).toBe(true);
  });
});
