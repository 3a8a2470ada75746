/** The camera config and the ffmpeg binary tests build pipelines from, written once. */
import type { CameraConfig } from "../../src/config/load.ts";
import { resolveFfmpeg } from "../../src/media/ffmpeg-path.ts";

/** The ffmpeg the bot would use here (ffmpeg-static or the system's); throws with the resolver's reason when none. */
export function ffmpegPath(): string {
  const found = resolveFfmpeg();
  if ("error" in found) throw new Error(found.error);
  return found.path;
}

/**
 * A camera as the loader makes it, small and quiet unless `over` says otherwise: 320x240 at 10 fps, no audio, no
 * keep-warm, software decoding, no doorbell.
 */
export function testCamera(over: Partial<CameraConfig> & Pick<CameraConfig, "url">): CameraConfig {
  return {
    name: "cam",
    description: undefined,
    maxWidth: 320,
    maxHeight: 240,
    maxFps: 10,
    audio: false,
    keepWarm: false,
    hwaccel: "none",
    ring: undefined,
    ...over,
  };
}

/** What follows an rtsp:// URL's host and port, and its credentials. */
function partsOf(url: string): { creds: string; rest: string } {
  const m = /^rtsp:\/\/((?:[^/?#]*@)?)(?:\[[^\]]*\]|[^:/?#]*)(?::\d*)?(.*)$/is.exec(url);
  return { creds: m?.[1] ?? "", rest: m?.[2] ?? url };
}

/**
 * Whether a front end's argument reads the camera at `url`: as written, as GStreamer's `location=`, or as ffmpeg
 * reads it through the camera's frame-end proxy (127.0.0.1 and the proxy's port, the rest as written).
 */
export function readsCamera(arg: string, url: string): boolean {
  if (arg === url || arg === `location=${url}`) return true;
  if (!/^rtsp:\/\/(?:[^/?#]*@)?127\.0\.0\.1:\d+/i.test(arg)) return false;
  const a = partsOf(arg);
  const b = partsOf(url);
  return a.creds === b.creds && a.rest === b.rest;
}
