/**
 * What an event of a MatrixRTC call's room says to the call (rtc-call.ts): of the other party's events, a decline of a
 * ring (MSC4310) and their call.member state (joined with a device, or left); and "room-changed" (with the call's end
 * reason) when the room is no longer the two of them: the other party left it (or was removed or banned, whoever sent
 * it), or a third member joined. Everything else is "other"; a decline or membership that does not parse is
 * "malformed", with the line the call logs.
 */
import { CALL_MEMBER_TYPE, declineSchema, readMembership, roomEventSchema, RTC_DECLINE_TYPE, type RoomEvent } from "./rtc-wire.ts";

export type CalleeEvent =
  | { kind: "declined"; ring: string }
  | { kind: "joined"; stateKey: string; deviceId: string; expiresAt: number }
  | { kind: "left"; stateKey: string }
  | { kind: "room-changed"; reason: string }
  | { kind: "malformed"; eventId: string; reason?: string; what: string }
  | { kind: "other" };

const LEFT = new Set(["leave", "ban"]);

/**
 * The room stopped being the bot's and the other party's alone. Their leaving ends the call as on the legacy path
 * (membership.ts). A third member ends it too, unlike a legacy call, whose media reaches only the device that
 * answered: the camera is published in a LiveKit room that whoever the focus gives a token may join, and rtc-node 1.1
 * cannot limit who subscribes (its FFI has SetTrackSubscriptionPermissions, its API does not).
 */
function roomChange(event: RoomEvent, parties: CallParties): string | undefined {
  if (event.type !== "m.room.member" || event.state_key === undefined || event.state_key === parties.bot) return undefined;
  const membership = String(event.content["membership"]);
  if (event.state_key === parties.callee) return LEFT.has(membership) ? `${parties.callee} left the room` : undefined;
  return membership === "join" ? `${event.state_key} joined the room (a MatrixRTC call is open to anyone in it)` : undefined;
}

/** The call's other party (who is rung, or who called) and the bot. */
export interface CallParties {
  callee: string;
  bot: string;
}

/** `raw` (an event as the sync delivers it) read for the call between `parties`, at `now`. */
export function readCalleeEvent(raw: unknown, parties: CallParties, now: number): CalleeEvent {
  const parsed = roomEventSchema.safeParse(raw);
  if (!parsed.success) return { kind: "other" };
  const event = parsed.data;
  const changed = roomChange(event, parties);
  if (changed !== undefined) return { kind: "room-changed", reason: changed };
  const { callee } = parties;
  if (event.sender !== callee) return { kind: "other" };
  if (event.type === RTC_DECLINE_TYPE) {
    const decline = declineSchema.safeParse(event.content);
    return decline.success
      ? { kind: "declined", ring: decline.data["m.relates_to"].event_id }
      : { kind: "malformed", eventId: event.event_id, what: "ignoring a malformed rtc.decline" };
  }
  if (event.type !== CALL_MEMBER_TYPE || event.state_key === undefined) return { kind: "other" };
  const stateKey = event.state_key;
  const reading = readMembership(event.content, event.origin_server_ts, now);
  if (reading.kind === "malformed")
    return {
      kind: "malformed",
      eventId: event.event_id,
      reason: reading.reason,
      what: "ignoring a malformed call.member event of the callee",
    };
  return reading.kind === "joined"
    ? { kind: "joined", stateKey, deviceId: reading.deviceId, expiresAt: reading.expiresAt }
    : { kind: "left", stateKey };
}
