/**
 * What an event of a MatrixRTC call's room says to the call (rtc-call.ts): only the other party's events count, and
 * of them a decline of a ring (MSC4310), their call.member state (joined with a device, or left) and their leaving
 * the room (left, kicked or banned, whoever sent it: "left-room"). Everything else is "other"; a decline or
 * membership that does not parse is "malformed", with the line the call logs.
 */
import { CALL_MEMBER_TYPE, declineSchema, readMembership, roomEventSchema, RTC_DECLINE_TYPE } from "./rtc-wire.ts";

export type CalleeEvent =
  | { kind: "declined"; ring: string }
  | { kind: "joined"; stateKey: string; deviceId: string; expiresAt: number }
  | { kind: "left"; stateKey: string }
  | { kind: "left-room" }
  | { kind: "malformed"; eventId: string; reason?: string; what: string }
  | { kind: "other" };

const LEFT = new Set(["leave", "ban"]);

/** `raw` (an event as the sync delivers it) read for the call with `callee`, at `now`. */
export function readCalleeEvent(raw: unknown, callee: string, now: number): CalleeEvent {
  const parsed = roomEventSchema.safeParse(raw);
  if (!parsed.success) return { kind: "other" };
  const event = parsed.data;
  // The legacy path's rule (membership.ts): the other party leaving the room ends the call, as does a kick or ban.
  if (event.type === "m.room.member" && event.state_key === callee && LEFT.has(String(event.content["membership"])))
    return { kind: "left-room" };
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
