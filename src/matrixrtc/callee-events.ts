/**
 * What an event of a MatrixRTC call's room says to the call (rtc-call.ts): only the other party's events count, and
 * of them a decline of a ring (MSC4310) and their call.member state (joined with a device, or left). Everything else
 * is "other"; a decline or membership that does not parse is "malformed", with the line the call logs.
 */
import { CALL_MEMBER_TYPE, declineSchema, readMembership, roomEventSchema, RTC_DECLINE_TYPE } from "./rtc-wire.ts";

export type CalleeEvent =
  | { kind: "declined"; ring: string }
  | { kind: "joined"; stateKey: string; deviceId: string; expiresAt: number }
  | { kind: "left"; stateKey: string }
  | { kind: "malformed"; eventId: string; reason?: string; what: string }
  | { kind: "other" };

/** `raw` (an event as the sync delivers it) read for the call with `callee`, at `now`. */
export function readCalleeEvent(raw: unknown, callee: string, now: number): CalleeEvent {
  const parsed = roomEventSchema.safeParse(raw);
  if (!parsed.success || parsed.data.sender !== callee) return { kind: "other" };
  const event = parsed.data;
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
