/**
 * Builds the call that answers an admitted m.call.invite placed to the bot: the camera's lease and
 * the incoming call with the caller's party, the invite's version and offer. Not started and not
 * registered: CallManager does both, after its own checks. It was CallManager.answer's body; it is
 * its own function because turning an invite into a call is the inbound path's concern, and the
 * manager only keeps the calls in progress.
 */
import type { CameraHub } from "../media/camera-hub.ts";
import type { Logger } from "../util/logger.ts";
import type { SendCallEvent } from "./call-core.ts";
import { createIncomingCall, type IncomingCall } from "./incoming-signalling.ts";
import type { RoomCallEvent } from "./router.ts";
import { partyOf, type InviteIn } from "./wire.ts";

export interface AnswerContext {
  partyId: string;
  iceDisconnectedTimeoutMs: number;
  hub: CameraHub;
  /** The answering call's events, in order (CallOutbox.sender). */
  send: SendCallEvent;
}

/** The call answering `invite` (from `event`) with `camera`, not started yet. */
export function answerCall(
  ctx: AnswerContext,
  camera: string,
  event: RoomCallEvent,
  invite: InviteIn,
  iceServers: RTCIceServer[],
  log: Logger,
): IncomingCall {
  const lease = ctx.hub.acquire(camera);
  return createIncomingCall(
    {
      callId: invite.call_id,
      partyId: ctx.partyId,
      roomId: event.roomId,
      caller: event.sender,
      callerPartyId: partyOf(invite),
      inviteV1: invite.version !== 0,
      offerSdp: invite.offer.sdp,
      iceDisconnectedTimeoutMs: ctx.iceDisconnectedTimeoutMs,
      iceServers,
    },
    lease,
    ctx.send,
    log,
  );
}
