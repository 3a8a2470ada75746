/**
 * The camera hub a publisher test feeds from: one camera "cam" at the test camera's URL, configured as the loader
 * makes it from `{ name, url }` alone (its defaults), decoded by the ffmpeg the bot would use here. Apart from
 * cameras.ts, which the unit tests import without loading wrtc.
 */
import { parseConfig } from "../../src/config/load.ts";
import { CameraHub } from "../../src/media/camera-hub.ts";
import type { Logger } from "../../src/util/logger.ts";
import { ffmpegPath } from "./cameras.ts";

export function oneCameraHub(url: string, log: Logger): CameraHub {
  const config = parseConfig({
    homeserver: { url: "http://127.0.0.1:1", accessToken: "unused" },
    allowedUsers: ["@a:localhost"],
    cameras: [{ name: "cam", url }],
  });
  return new CameraHub(config.cameras, { full: ffmpegPath() }, log, 0);
}
