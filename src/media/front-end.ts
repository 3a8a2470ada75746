/** Which program reads a camera, and its command line for one run. */
import type { CameraConfig } from "../config/load.ts";
import type { Logger } from "../util/logger.ts";
import type { RunCommand } from "./camera-run.ts";
import { buildCameraArgs, type HwAccel } from "./ffmpeg-args.ts";
import { buildGstArgs, GST_LAUNCH, gstCanRead, type GstCodec } from "./gst-front-end.ts";
import type { FrontEnd } from "./restart-policy.ts";

/** GStreamer when the camera asks for it and it can read the camera (RTSP, software decoding), else ffmpeg. */
export function initialFrontEnd(camera: CameraConfig, log: Logger): FrontEnd {
  if (camera.frontEnd !== "gstreamer") return "ffmpeg";
  if (gstCanRead(camera.url) && camera.hwaccel === "none") return "gstreamer";
  log.warn({ hwaccel: camera.hwaccel }, "frontEnd gstreamer needs an rtsp:// camera and hwaccel none: using ffmpeg");
  return "ffmpeg";
}

/** The command of one run with the pipeline's current options (a fallback may have turned audio or hwaccel off). */
export function runCommand(
  frontEnd: FrontEnd,
  camera: CameraConfig,
  ffmpegPath: string,
  opts: { audio: boolean; hwaccel: HwAccel; gstCodec: GstCodec },
): RunCommand {
  const { url, maxWidth, maxHeight, maxFps } = camera;
  if (frontEnd === "gstreamer") {
    const args = buildGstArgs({ url, maxWidth, maxHeight, maxFps, audio: opts.audio, codec: opts.gstCodec });
    return { binary: GST_LAUNCH, args, layout: "gst-launch", gstCodec: opts.gstCodec };
  }
  return {
    binary: ffmpegPath,
    args: buildCameraArgs({ url, maxWidth, maxHeight, maxFps, audio: opts.audio, hwaccel: opts.hwaccel }),
    layout: "ffmpeg",
  };
}
