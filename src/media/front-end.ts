/** Which program reads a camera, and its command line for one run. */
import type { CameraConfig } from "../config/load.ts";
import type { Logger } from "../util/logger.ts";
import type { RunCommand } from "./camera-run.ts";
import { buildCameraArgs, type HwAccel } from "./ffmpeg-args.ts";
import { fromPath } from "./ffmpeg-path.ts";
import { buildGstArgs, GST_LAUNCH, gstCanRead, type GstCodec } from "./gst-front-end.ts";
import { leanReads } from "./lean-ffmpeg.ts";
import type { FrontEnd } from "./restart-policy.ts";

let gstInstalled: boolean | undefined;

/** Whether gst-launch-1.0 is an executable on PATH (looked up once per process). */
export function gstLaunchInstalled(): boolean {
  gstInstalled ??= fromPath(GST_LAUNCH) !== undefined;
  return gstInstalled;
}

/** Whether the camera would be read by GStreamer given gst-launch-1.0: not opted out, RTSP, software decoding. */
export function gstEligible(camera: Pick<CameraConfig, "frontEnd" | "url" | "hwaccel">): boolean {
  return camera.frontEnd !== "ffmpeg" && gstCanRead(camera.url) && camera.hwaccel === "none";
}

/**
 * The lean ffmpeg where it is built and can read the camera (lean-ffmpeg.ts), unless the camera asks for GStreamer;
 * else GStreamer unless the camera asks for ffmpeg, where GStreamer can read the camera (RTSP, software decoding) and
 * gst-launch-1.0 is installed; else ffmpeg. GStreamer became the default because it handed each frame on one frame
 * period sooner than ffmpeg (camera → raw frame 42 against 81 ms at 720p25); since ffmpeg reads rtsp:// cameras
 * through the frame-end proxy (frame-end-proxy.ts) both take 42–43 ms, and what decides is memory: a 1080p camera
 * took 76 MB with GStreamer (Debian's libavcodec under avdec_h264), 22 MB with the lean ffmpeg. A camera GStreamer
 * cannot decode (MJPEG) or a missing plugin falls back to ffmpeg after one run (restart-policy.ts). Only a camera
 * that asked for GStreamer and cannot have it is worth a warning.
 */
export function initialFrontEnd(camera: CameraConfig, log: Logger, installed: () => boolean = gstLaunchInstalled, lean = false): FrontEnd {
  if (lean && leanReads(camera)) return "ffmpeg";
  const readable = gstEligible(camera);
  if (readable && installed()) return "gstreamer";
  if (camera.frontEnd === "gstreamer") {
    log.warn(
      { hwaccel: camera.hwaccel, gstLaunch: readable ? "not found" : undefined },
      "frontEnd gstreamer needs an rtsp:// camera, hwaccel none and gst-launch-1.0 on PATH: using ffmpeg",
    );
  }
  return "ffmpeg";
}

/**
 * The command of one run with the pipeline's current options (a fallback may have turned audio or hwaccel off);
 * ffmpeg reads `ffmpegUrl` where given (the camera through its frame-end proxy).
 */
export function runCommand(
  frontEnd: FrontEnd,
  camera: CameraConfig,
  ffmpegPath: string,
  opts: { audio: boolean; hwaccel: HwAccel; gstCodec: GstCodec; ffmpegUrl?: string | undefined },
): RunCommand {
  const { url, maxWidth, maxHeight, maxFps } = camera;
  if (frontEnd === "gstreamer") {
    const args = buildGstArgs({ url, maxWidth, maxHeight, maxFps, audio: opts.audio, codec: opts.gstCodec });
    return { binary: GST_LAUNCH, args, layout: "gst-launch", gstCodec: opts.gstCodec };
  }
  return {
    binary: ffmpegPath,
    args: buildCameraArgs({ url: opts.ffmpegUrl ?? url, maxWidth, maxHeight, maxFps, audio: opts.audio, hwaccel: opts.hwaccel }),
    layout: "ffmpeg",
  };
}
