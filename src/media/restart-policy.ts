/**
 * What a camera does after its front end (ffmpeg or gst-launch-1.0) ended: a pure decision from the facts of the exit and the
 * pipeline's flags, so every path (respawn, fall back, retry with backoff) is one row of a table test
 * (test/unit/restart-policy.test.ts) instead of a branch buried in the process handling.
 *
 * There is no "give up": a camera that is away (rebooting, unplugged, its Wi-Fi down) comes back on
 * its own, and while it is away calls show the offline picture; the backoff keeps an absent camera
 * to one connect attempt every 30 s at most.
 */
import type { HwAccel } from "./ffmpeg-args.ts";
import type { GstCodec } from "./gst-front-end.ts";

/** Waits between reconnect attempts (seconds); the last one repeats. */
export const RECONNECT_BACKOFF_S = [1, 2, 5, 10, 30] as const;
/** While calls watch the camera, a retry is never further away than this: video is back soon after the camera. */
export const WATCHED_MAX_RETRY_S = 1;

/** What reads the camera: ffmpeg, or gst-launch-1.0 (gst-front-end.ts). */
export type FrontEnd = "ffmpeg" | "gstreamer";

/** Why the pipeline itself ended the run, if it did. */
export type EndReason = "resync" | "stall" | undefined;

export interface ExitFacts {
  /** Someone still wants the camera (it was not stopped). */
  wanted: boolean;
  endedFor: EndReason;
  /** ffmpeg said the mapped audio stream does not exist. */
  missingAudio: boolean;
  /** ffmpeg said the hardware decoder could not be used. */
  hwFailed: boolean;
  /**
   * The front end said it cannot read this camera: GStreamer (another codec, a missing plugin, not installed), or
   * ffmpeg lacks a part (a decoder the lean build has not; lean-ffmpeg.ts).
   */
  frontEndFailed: boolean;
  /**
   * The run read the camera through its frame-end proxy (frame-end-proxy.ts) and the proxy is the suspect: no frame
   * came out of ffmpeg although the camera played, or the proxy broke the session off (the next run reads directly).
   */
  proxyFailed: boolean;
  /** The codec the camera announced, when another GStreamer chain decodes it. */
  gstCodec: GstCodec | undefined;
  /** Frames the run delivered. */
  frames: number;
  /** The run's options. */
  audio: boolean;
  hwaccel: HwAccel;
  frontEnd: FrontEnd;
  /** ffmpeg was the lean build (lean-ffmpeg.ts). */
  lean: boolean;
  /** Reconnect attempts since video last flowed. */
  attempt: number;
  /** Calls are watching the camera. */
  watched: boolean;
}

export type NextStep =
  /** Nobody wants the camera: nothing runs next. */
  | { kind: "idle" }
  /** Start the front end again at once with the same options. */
  | { kind: "respawn" }
  /**
   * Start again at once without the camera's audio, with software decoding, with ffmpeg instead of GStreamer, with
   * the full ffmpeg instead of the lean one, or with ffmpeg reading the camera directly instead of through the
   * frame-end proxy.
   */
  | { kind: "fallback"; drop: "audio" | "hwaccel" | "gstreamer" | "lean" | "proxy" }
  /** Start GStreamer again at once with the chain for the codec the camera announced. */
  | { kind: "gstCodec"; codec: GstCodec }
  /** Show the offline picture and try again in `delayS`; `attempt` is the new attempt count. */
  | { kind: "retry"; delayS: number; attempt: number };

/** The wait before the next connect attempt. */
export function retryDelayS(attempt: number, watched: boolean): number {
  const backoffS = RECONNECT_BACKOFF_S[Math.min(attempt, RECONNECT_BACKOFF_S.length - 1)] ?? 30;
  return watched ? Math.min(backoffS, WATCHED_MAX_RETRY_S) : backoffS;
}

export function nextStep(facts: ExitFacts): NextStep {
  if (!facts.wanted) return { kind: "idle" };
  // Stopped to catch up with the live picture: calls keep the last picture for the moment the new run needs.
  if (facts.endedFor === "resync") return { kind: "respawn" };
  // Before the first frame only: a GStreamer run that has shown pictures and then failed met a camera problem.
  if (facts.frontEndFailed && facts.frontEnd === "gstreamer" && facts.frames === 0) {
    return facts.gstCodec === undefined ? { kind: "fallback", drop: "gstreamer" } : { kind: "gstCodec", codec: facts.gstCodec };
  }
  // Likewise a lean ffmpeg that lacks the camera's codec: the full ffmpeg has it.
  if (facts.frontEndFailed && facts.frontEnd === "ffmpeg" && facts.lean && facts.frames === 0) return { kind: "fallback", drop: "lean" };
  if (facts.missingAudio && facts.audio) return { kind: "fallback", drop: "audio" };
  // Only before the first frame: a hardware decoder that worked and then failed is a camera problem, retried as is.
  if (facts.hwFailed && facts.hwaccel !== "none" && facts.frames === 0) return { kind: "fallback", drop: "hwaccel" };
  if (facts.proxyFailed) return { kind: "fallback", drop: "proxy" };
  return { kind: "retry", delayS: retryDelayS(facts.attempt, facts.watched), attempt: facts.attempt + 1 };
}
