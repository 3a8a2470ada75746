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
