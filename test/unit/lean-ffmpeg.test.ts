/**
 * The lean ffmpeg's rules (lean-ffmpeg.ts, run-options.ts): which one is used, which cameras it reads, what says it
 * lacks a part, and that the fallback hands the camera to the full ffmpeg for good. The real build reading real
 * cameras is test/e2e/lean-ffmpeg.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CameraConfig } from "../../src/config/load.ts";
import type { RunEnd } from "../../src/media/camera-run.ts";
import { isMissingComponentError, leanCanRead, resolveLeanFfmpeg } from "../../src/media/lean-ffmpeg.ts";
import { RunOptions } from "../../src/media/run-options.ts";
import { createLogger } from "../../src/util/logger.ts";
import { ffmpegPath, testCamera as cameraOf } from "../harness/cameras.ts";

const log = createLogger({ level: "silent" });
const opened: RunOptions[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
});

function options(url: string, over: Partial<CameraConfig> = {}): RunOptions {
  const o = new RunOptions(cameraOf({ ...over, url }), { full: "/usr/bin/ffmpeg", lean: "/opt/lean/ffmpeg" }, log);
  opened.push(o);
  return o;
}

const end = (lines: string[]): RunEnd => ({
  exit: { code: 1, signal: null, requested: false, lastLines: lines },
  endedFor: undefined,
  missingAudio: false,
  hwFailed: false,
  frontEndFailed: true,
  gstCodec: undefined,
  frames: 0,
});

describe("the lean ffmpeg", () => {
  it("reads plain rtsp:// cameras decoded in software, nothing else", () => {
    expect(leanCanRead({ url: "rtsp://user:pw@cam/s", hwaccel: "none" })).toBe(true);
    expect(leanCanRead({ url: "RTSP://cam/s", hwaccel: "none" })).toBe(true);
    expect(leanCanRead({ url: "rtsps://cam/s", hwaccel: "none" })).toBe(false);
    expect(leanCanRead({ url: "rtsp://cam/s", hwaccel: "vaapi" })).toBe(false);
    expect(leanCanRead({ url: "http://cam/mjpeg", hwaccel: "none" })).toBe(false);
    expect(leanCanRead({ url: "demo://", hwaccel: "none" })).toBe(false);
  });

  it("is found where built, left out where not, turned off with none, and a configured one must run", () => {
    const real = ffmpegPath();
    expect(resolveLeanFfmpeg(undefined, real)).toMatchObject({ path: real });
    const said = (r: ReturnType<typeof resolveLeanFfmpeg>): string => ("error" in r ? `error: ${r.error}` : (r.path ?? `none: ${r.why}`));
    expect(said(resolveLeanFfmpeg(undefined, "/nonexistent/ffmpeg"))).toMatch(/^none: not built/);
    expect(said(resolveLeanFfmpeg("none", real))).toBe("none: media.leanFfmpegPath is none");
    expect(said(resolveLeanFfmpeg(real, "/nonexistent/ffmpeg"))).toBe(real);
    expect(said(resolveLeanFfmpeg("/nonexistent/ffmpeg"))).toMatch(/^error: .*media\.leanFfmpegPath/);
  });

  it("knows ffmpeg's lines for a part it lacks, and not its other failures", () => {
    expect(isMissingComponentError("Decoder (codec vp8) not found for input stream #0:0")).toBe(true);
    expect(isMissingComponentError("[in#0] Protocol 'tls' not found")).toBe(true);
    expect(isMissingComponentError("rtsps://cam/s: Protocol not found")).toBe(true);
    expect(isMissingComponentError("No such filter: 'drawtext'")).toBe(true);
    expect(isMissingComponentError("Unknown encoder 'libx264'")).toBe(true);
    expect(isMissingComponentError("rtsp://cam/s: Connection refused")).toBe(false);
    expect(isMissingComponentError("method DESCRIBE failed: 401 Unauthorized")).toBe(false);
    expect(isMissingComponentError("Stream map '0:a:0' matches no streams.")).toBe(false);
  });

  it("reads an rtsp:// camera by default, and hands it to the full ffmpeg for good once it lacked a part", () => {
    const o = options("rtsp://127.0.0.1:9/live", { audio: true });
    expect(o.frontEnd).toBe("ffmpeg");
    expect(o.lean).toBe(true);
    expect(o.command().binary).toBe("/opt/lean/ffmpeg");
    o.apply({ kind: "fallback", drop: "lean" }, end(["Decoder (codec pcm_s24be) not found for input stream #0:1"]));
    expect(o.lean).toBe(false);
    expect(o.command().binary).toBe("/usr/bin/ffmpeg");
  });

  it("leaves GStreamer to a camera that asks for it, and other cameras to the full ffmpeg", () => {
    expect(options("rtsp://127.0.0.1:9/live", { frontEnd: "gstreamer" }).command().layout).toBe("gst-launch");
    expect(options("rtsps://127.0.0.1:9/live", { frontEnd: "ffmpeg" }).command().binary).toBe("/usr/bin/ffmpeg");
    expect(options("demo://", {}).command().binary).toBe("/usr/bin/ffmpeg");
    expect(options("rtsp://127.0.0.1:9/live", { hwaccel: "vaapi" }).command().binary).toBe("/usr/bin/ffmpeg");
  });
});
