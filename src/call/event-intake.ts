/**
 * Where an m.call.* event from a room goes: invites to admission (invite-admission.ts), events for
 * a call admission is still deciding to be held there, and the rest to the call's signalling
 * (router.ts) only if they count: from the call's own room and from its other party; anything else
 * is logged and dropped. It was CallManager.handleEvent's body; it is its own function because
 * which events count is a rule of the inbound path, and the manager only keeps the calls.
 */
import type { LogOnce } from "../doorbell/log-once.ts";
import type { Logger } from "../util/logger.ts";
import type { EventContext, InviteAdmission } from "./invite-admission.ts";
import { routeCallEvent, type ActiveCall, type RoomCallEvent } from "./router.ts";
import { CallEventType, callIdOf, isCallEventType } from "./wire.ts";

export interface IntakeContext {
  admission: InviteAdmission;
  /** The call in progress with this call ID, if any. */
  callById: (callId: string) => ActiveCall | undefined;
  log: Logger;
  /** Anyone in a call's room can send events for it: logged once a minute per room. */
  logOnce: LogOnce;
}

/**
 * An m.call.* event arrived in a room. Contents are parsed by schema; anything malformed, from
 * someone other than the call's other party, from another room than the call's, or for an unknown
 * call is logged and dropped.
 */
export function takeCallEvent(intake: IntakeContext, event: RoomCallEvent, ctx: EventContext): void {
  const { roomId, sender, type, content } = event;
  if (!isCallEventType(type) || sender === ctx.botUserId) return;
  if (type === CallEventType.Invite) {
    intake.admission.onInvite(event, ctx);
    return;
  }
  const callId = callIdOf(content);
  if (callId === undefined) {
    intake.log.debug({ room: roomId, type }, "call event without a call_id ignored");
    return;
  }
  if (intake.admission.hold(callId, event)) return;
  const session = intake.callById(callId);
  if (!session) return;
  // The call ID is no secret (the peer sees it) and a user may share many rooms with the bot: an
  // event counts only in the call's own room.
  if (session.roomId !== roomId) {
    intake.log.debug(
      { call: callId, room: roomId, callRoom: session.roomId, type },
      "call event from another room than the call's ignored",
    );
    return;
  }
  if (session.peer !== sender) {
    intake.logOnce.warn(
      `${roomId} non-party`,
      { call: callId, room: roomId, type, sender },
      "call event from someone other than the call's other party ignored",
    );
    return;
  }
  routeCallEvent(session, event, intake.log.child({ call: callId, room: roomId }));
}
