/** What a bench run found: every window, time-to-first-frame series, drift and talkback figures, notes and errors. */
import type { MemoryBreakdown } from "../measure/memory.ts";
import type { SourceFigures } from "../measure/source-tap.ts";
import type { LevelSample, TalkbackSlice } from "../measure/talkback-levels.ts";
import type { WebrtcBreakdown } from "../measure/webrtc.ts";
import type { LatencySummary } from "../stats.ts";

export type WindowKind =
  | "latency"
  | "latency-ffmpeg"
  | "latency-gstreamer"
  | "bot"
  | "overload"
  | "bot-audio"
  | "reference"
  | "camera-floor"
  | "decode-floor"
  | "encode-floor"
  | "idle"
  | "drift"
  | "talkback"
  /** The matrixrtc phase: the bot's CPU with no call, legacy calls and MatrixRTC calls (see `path`), one camera. */
  | "rtc-cpu"
  /** The matrixrtc phase: one MatrixRTC call's long latency window. */
  | "rtc-latency";

export interface WindowResult {
  name: string;
  kind: WindowKind;
  resolution: string;
  calls: number;
  cameras: number;
  windowS: number;
  /** Delivered size at the receiver (the last frame of each stream in the window; distinct values). */
  delivered: string[];
  fps: { min: number | undefined; mean: number | undefined; perCall: number[] };
  /** Each stream's size at the receiver at the window's end, in the order of perCall (the overload phase). */
  perCallSize?: string[];
  /** The bot's encode budget in the window, pixels per second (the configured one × the share its measured speed gives). */
  encodeBudget?: number;
  latency: LatencySummary;
  /** Each stream's own glass-to-glass p50 over the window, in the order of fps.perCall (undefined: no stamp read). */
  latencyP50PerCall?: (number | undefined)[];
  /** % of one core per process group (bot, botFrontEnd, receiver, cameras, …). */
  cpu: Record<string, number>;
  rssMB: Record<string, { mean: number; max: number }>;
  processes: Record<string, number>;
  /** RTSP sessions opened since the scenario began, per rig server (cameras of one size share one: rig/cameras.ts). */
  rtspSessions?: number[];
  /** At the bot's RTCVideoSource input: frames handed to wrtc per second and their latency since capture. */
  source?: SourceFigures;
  webrtc?: WebrtcBreakdown;
  /** The bench process's (the bot's) memory by kind at the window's end (measure/memory.ts). */
  memory?: MemoryBreakdown;
  /** Event-loop delay of the bot's (the bench process's) main thread over the window, ms. */
  loopDelayMs?: { p50: number; p99: number; max: number };
  /** rtc-cpu windows: how the calls were made ("none": no call, the camera's pipeline stopped). */
  path?: "none" | "legacy" | "matrixrtc";
}

export interface TtffResult {
  name: string;
  /** webhook, mqtt: a doorbell press, the camera idle (the phase `doorbell`; "!call" in the fields is the press). */
  kind: "cold" | "warm" | "reference" | "webhook" | "mqtt";
  /** Per attempt, ms. */
  answerToFirstFrame: number[];
  callToFirstFrame: number[];
  /** `!call` said → the bot's invite sent (its call reached "ringing"). */
  callToInvite: number[];
  /** The bot's Matrix client had the `!call` → its invite sent: the bot's own part of callToInvite (older files lack it). */
  commandToInvite?: number[];
  callToRing: number[];
  answerToBotConnecting: number[];
  /** The bot applied the answer (its call reached "connecting") → the callee's first decoded frame: issue 14's "answer received → first frame". */
  answerReceivedToFirstFrame?: number[];
  answerToBotConnected: number[];
  callToCameraFirstFrame: number[];
  /** matrix-js-sdk's answer() call → resolved (media, answer SDP, m.call.answer sent). */
  answerCall: number[];
  firstSizes: string[];
}

export function emptyTtff(name: string, kind: TtffResult["kind"]): TtffResult {
  return {
    name,
    kind,
    answerToFirstFrame: [],
    callToFirstFrame: [],
    callToInvite: [],
    commandToInvite: [],
    callToRing: [],
    answerToBotConnecting: [],
    answerReceivedToFirstFrame: [],
    answerToBotConnected: [],
    callToCameraFirstFrame: [],
    answerCall: [],
    firstSizes: [],
  };
}

/** The matrixrtc phase's timings, per call, ms (all from the callee's side, the receiver process, but the `!call`). */
export interface RtcTimings {
  /** `!call` said → the callee's client received the rtc.notification. */
  callToRing: number[];
  /** The callee starts to join (before its OpenID request) → its first decoded frame. */
  joinToFirstFrame: number[];
  /** … → LiveKit connected (OpenID token, /sfu/get, LiveKit's signalling and ICE). */
  joinToConnected: number[];
  /** … → its call.member sent (what tells the bot the call is answered). */
  joinToMemberSent: number[];
  firstSizes: string[];
}

export function emptyRtc(): RtcTimings {
  return { callToRing: [], joinToFirstFrame: [], joinToConnected: [], joinToMemberSent: [], firstSizes: [] };
}

/** Mouth → door latency of one talkback path: one sample per tone burst. */
export interface TalkbackResult {
  path: "exec" | "onvif" | "matrixrtc";
  /** Per burst: ms from the callee's talk onset to the first audio carrying the tone at the door; NaN when none came. */
  latencies: number[];
  /** Seconds since the run began, per burst (for the drift slope). */
  at: number[];
  /** Least-squares slope of latency over time, ms per minute. */
  slopeMsPerMin: number | undefined;
  /** Bursts whose tone never arrived. */
  lost: number;
  /** Exec: per slice of the run, where the delay was held (bench/measure/talkback-levels.ts). */
  slices?: TalkbackSlice[];
  /** Exec: the once-a-second samples the slices come from (for a closer look in the JSON), and the first onset (Date.now()). */
  levels?: LevelSample[];
  firstOnsetAt?: number | undefined;
  note?: string;
}

export class Results {
  readonly windows: WindowResult[] = [];
  readonly ttff: TtffResult[] = [];
  readonly talkback: TalkbackResult[] = [];
  /** The matrixrtc phase's call timings (one entry per run; merged files add theirs). */
  readonly rtc: RtcTimings[] = [];
  /** Extra figures a phase reports with a target (issue 12's talkback CPU, etc.): see report/targets.ts. */
  readonly figures: { what: string; value: number | undefined; unit: string }[] = [];
  readonly notes: string[] = [];
  readonly errors: string[] = [];
}
