/** The contract of one MatrixRTC call (rtc-call.ts): its states, events, the steps it takes and its options. */
import type { DelayedLeaveOptions } from "./delayed-leave.ts";
import type { LiveKitFocus } from "./focus.ts";
import type { CallPublisher } from "./livekit-types.ts";
import type { RtcRoomApi } from "./rtc-room-api.ts";
import type { SfuToken } from "./sfu-token.ts";
import type { Logger } from "../util/logger.ts";

export type RtcCallState = "connecting" | "ringing" | "connected" | "ended";

export interface RtcCallEvents {
  state: [state: RtcCallState];
  /** `!switch` moved the call to this camera. */
  camera: [camera: string];
  ended: [reason: string];
}

/** How the call gets its focus and LiveKit token (rtc-call-steps.ts has the real ones). */
export interface RtcCallSteps {
  focus(): Promise<LiveKitFocus>;
  token(focus: LiveKitFocus): Promise<SfuToken>;
}

export interface RtcCallOptions {
  api: RtcRoomApi;
  steps: RtcCallSteps;
  /** Owned by the call from now on: it starts and stops it. */
  publisher: CallPublisher;
  roomId: string;
  /** The bot. */
  userId: string;
  deviceId: string;
  /** The other party: who is rung, or (join) who called. */
  callee: string;
  log: Logger;
  /**
   * Join the caller's call instead of placing one: no slot, no ring; `connected` once the bot's membership is out;
   * over when the membership under this state key (the caller's device) leaves.
   */
  join?: { callerStateKey: string; callerDeviceId: string; expiresAt: number };
  /** How long the ring lasts; the MSC recommends 30 s, js-sdk 42 caps it at 90 s. */
  ringLifetimeMs?: number;
  /** Told once the homeserver has the ring (before LiveKit connects): a doorbell's line follows the ring. */
  onRing?: () => void;
  membershipExpiresMs?: number;
  delayedLeave?: Omit<DelayedLeaveOptions, "onLost">;
  /** How long the end waits for the leave and the publisher's stop before it ends anyway (call-leave.ts END_WITHIN_MS). */
  endWithinMs?: number;
  /** How long the callee's client may be gone from LiveKit before the call ends (peer-watch.ts PEER_GRACE_MS). */
  peerGraceMs?: number;
}
