import type { ActiveCall } from "./router.ts";
import type { VideoSendStats } from "../rtc/video-send-stats.ts";

/** One call in progress as /metrics and !status show it. */
export interface CallFigures {
  callId: string;
  roomId: string;
  camera: string;
  peer: string;
  direction: ActiveCall["direction"];
  /** Undefined while there is no video sender yet (ringing before the offer is made, or a call without video). */
  video: VideoSendStats | undefined;
}

/** The figures of every call in progress, read from each peer connection's getStats. */
export async function callFigures(sessions: readonly ActiveCall[]): Promise<CallFigures[]> {
  return Promise.all(
    sessions.map(async (s) => ({
      callId: s.callId,
      roomId: s.roomId,
      camera: s.camera,
      peer: s.peer,
      direction: s.direction,
      video: await s.videoStats().catch(() => undefined),
    })),
  );
}

/** A line per call for !status: "frontdoor → @alice:example.org, 24.9 fps 1280x720, 3120 frames sent". */
export function describeCall(f: CallFigures): string {
  const arrow = f.direction === "outgoing" ? "→" : "←";
  const v = f.video;
  if (v === undefined) return `${f.camera} ${arrow} ${f.peer}: no video sent yet`;
  const limited = v.qualityLimitation !== "none" && v.qualityLimitation !== "unknown" ? ` (limited by ${v.qualityLimitation})` : "";
  return `${f.camera} ${arrow} ${f.peer}: ${v.framesPerSecond.toFixed(1)} fps ${v.width}x${v.height}, ${v.framesSent} frames sent${limited}`;
}

/**
 * The calls part of !status for `viewer`: how many calls are in progress, and a line for each of the viewer's own
 * calls. Other users' calls are only counted: the reply goes into the room the command came from, which may have
 * members who should not learn who is being called by which camera.
 */
export function callStatusLines(figures: readonly CallFigures[], viewer: string): string[] {
  const own = figures.filter((f) => f.peer === viewer);
  const others = figures.length - own.length;
  const whose = others === 0 ? "" : own.length === 0 ? " (none of them yours)" : ` (${own.length} of them yours)`;
  return [`Calls in progress: ${figures.length}${whose}`, ...own.map((f) => `  ${describeCall(f)}`)];
}
