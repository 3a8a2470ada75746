/** Which front end reads a camera at first (front-end.ts): GStreamer by default where it can, else ffmpeg. */
import { describe, expect, it } from "vitest";
import type { CameraConfig } from "../../src/config/load.ts";
import { initialFrontEnd } from "../../src/media/front-end.ts";
import { createLogger } from "../../src/util/logger.ts";

const log = createLogger({ level: "silent" });

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

  it("is the (lean) ffmpeg by default where the lean build can read the camera, GStreamer only when asked for", () => {
    expect(initialFrontEnd(camera("rtsp://cam/s", undefined), log, installed, true)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("rtsp://cam/s", "gstreamer"), log, installed, true)).toBe("gstreamer");
    expect(initialFrontEnd(camera("rtsp://cam/s", "ffmpeg"), log, installed, true)).toBe("ffmpeg");
  });

  it("is ffmpeg when gst-launch-1.0 is not installed, asked for or not", () => {
    expect(initialFrontEnd(camera("rtsp://cam/s", "gstreamer"), log, missing)).toBe("ffmpeg");
    expect(initialFrontEnd(camera("rtsp://cam/s", undefined), log, missing)).toBe("ffmpeg");
  });
});
