/** Messages between the benchmark (parent) and bench/receiver.ts (a forked child), over Node's IPC channel. */

export interface LoginParams {
  baseUrl: string;
  userId: string;
  accessToken: string;
  deviceId: string;
}

export type ToReceiver =
  | { t: "login"; login: LoginParams }
  /** Hang up the Matrix call in this room (the callee hangs up, as a user would). */
  | { t: "hangup"; roomId: string }
  /** A peer connection without Matrix (the reference pipeline and the encode floor): answer this offer. */
  | { t: "plain-offer"; id: string; sdp: string }
  | { t: "plain-close"; id: string }
  /** The inbound video stats (getStats "inbound-rtp") of every live stream. */
  | { t: "stats"; reqId: number }
  /** From now on the callee's microphone is the tone microphone playing `hz` (test/harness/tone-mic.ts), silent until talking. */
  | { t: "tone"; hz: number }
  /** Start or stop talking (the tone plays while talking). */
  | { t: "talk"; on: boolean; reqId: number }
  /** Join the MatrixRTC call in this room as Element X does (bench/rtc-callee.ts), through the focus at `serviceUrl`. */
  | { t: "rtc-join"; roomId: string; serviceUrl: string; reqId: number }
  /** Leave it: the callee's call.member emptied, LiveKit left. */
  | { t: "rtc-leave"; roomId: string }
  | { t: "stop" };

/** Cumulative counters of one received video stream, from getStats() (seconds for the times). */
export interface InboundVideoStats {
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  totalDecodeTime: number;
  framesDecoded: number;
  totalProcessingDelay: number;
  framesReceived: number;
  framesDropped: number;
  nackCount: number;
  pliCount: number;
  packetsLost: number;
  /** First → last packet of the frames that came in several packets (the pacer's spread), and how many those were. */
  totalAssemblyTime: number;
  framesAssembledFromMultiplePackets: number;
}

/** Per-frame samples of one stream, batched. */
export interface SampleBatch {
  /** "m:<roomId>#<callId>" for a Matrix call, "p:<id>" for a plain peer connection. */
  key: string;
  /** Arrival wall-clock times (ms since the epoch) of decoded frames. */
  at: number[];
  /** now − stamp for each frame, ms; NaN when the stamp could not be read (a misread). */
  latency: number[];
  /** Stamp sequence numbers (−1 for a misread). */
  seq: number[];
  width: number;
  height: number;
}

export type FromReceiver =
  | { t: "ready"; pid: number }
  | { t: "logged-in"; userId: string }
  | { t: "ring"; key: string; roomId: string; callId: string; at: number }
  | { t: "answered"; key: string; answerStart: number; answerDone: number }
  /** The first decoded frame of a stream: when it arrived, and its size. */
  | { t: "first-frame"; key: string; at: number; width: number; height: number; answerStart: number | undefined }
  | { t: "samples"; batches: SampleBatch[] }
  | { t: "ended"; key: string; reason: string | undefined }
  | { t: "plain-answer"; id: string; sdp: string; answeredAt: number }
  | { t: "stats"; reqId: number; stats: Record<string, InboundVideoStats> }
  | { t: "tone-set"; hz: number }
  /** Talking switched; `at` is the onset (Date.now()) when it started talking. */
  | { t: "talked"; reqId: number; at: number }
  | { t: "error"; message: string }
  /** The callee's client received an rtc.notification (a MatrixRTC ring). */
  | { t: "rtc-ring"; roomId: string; eventId: string; at: number }
  /**
   * Joined a MatrixRTC call: the stream's key ("r:<roomId>#<n>"); the join began (before the OpenID request), LiveKit
   * connected, the call.member was sent. Its frames come as "first-frame" and "samples" of that key.
   */
  | { t: "rtc-joined"; reqId: number; key: string; joinStart: number; connectedAt: number; memberSentAt: number }
  | { t: "rtc-join-failed"; reqId: number; message: string }
  | { t: "stopped" };
