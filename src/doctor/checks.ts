/**
 * The checks of `doctor`: each returns a verdict with a detail and, when something is wrong, how to fix it. This
 * file is their one import point (run.ts and the tests import from here); the checks live by what they talk to:
 * homeserver.ts (the Matrix server: reachable, token, TURN, well-known, and whether encryption is available),
 * media.ts (ffmpeg and the cameras through ffprobe), lean-ffmpeg.ts (the build that reads rtsp:// cameras), gstreamer.ts (the GStreamer front end), mqtt.ts (the doorbell triggers' broker), listen.ts
 * (http.listen) and rtc-focus.ts (the MatrixRTC focus).
 */
export type { CheckResult, Status } from "./result.ts";
export { checkEncryption, checkHomeserver, checkToken, checkTurn, checkWellKnown } from "./homeserver.ts";
export { checkCamera, checkFfmpeg } from "./media.ts";
export { checkMqtt } from "./mqtt.ts";
export { checkLeanFfmpeg } from "./lean-ffmpeg.ts";
