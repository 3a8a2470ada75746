/**
 * Which room event starts a call the bot joins ("being called", issue 13): someone else's
 * `org.matrix.msc3401.call.member` state event that is a fresh, unexpired, room-scoped m.call membership. The ring
 * Element Call sends with it (rtc.notification) is not needed: the membership is what says the user is in the call
 * and where (`foci_preferred`), and a client that does not ring still gets the bot. Pure: the caller (RtcIncoming)
 * decides who may call and asks admission.
 *
 * Fresh means at most MAX_COMMAND_AGE_MS (60 s) old, as a command: the first sync after a restart replays events,
 * and a membership from an hour ago is a call the user may have left the bot out of on purpose (`!hangup`), not a
 * call starting now. The age is the server's (`unsigned.age`) where given, and `created_ts` (the call's start, which
 * js-sdk keeps across its re-sends of the same membership) must be fresh too.
 */
import { z } from "zod";
import { MAX_COMMAND_AGE_MS } from "../matrix/events.ts";
import { pickLiveKit, type LiveKitFocus } from "./focus.ts";
import { CALL_MEMBER_TYPE, readMembership, roomEventSchema, sessionMembershipSchema } from "./rtc-wire.ts";

export interface IncomingCall {
  caller: string;
  /** The caller's device's state key: when its membership leaves, the call is over. */
  stateKey: string;
  deviceId: string;
  /** Epoch ms at which the caller's membership lapses (unless renewed). */
  expiresAt: number;
  eventId: string;
  /** The caller's LiveKit focus (`foci_preferred`), undefined when it names none the bot can use. */
  focus: LiveKitFocus | undefined;
}

export type IncomingVerdict = { call: IncomingCall } | { ignore: string };

const ageSchema = z.object({ unsigned: z.object({ age: z.number() }).loose() }).loose();

/** Whether `raw` (a room event as the sync delivers it) starts a call for the bot to join, read at `now`. */
export function incomingCall(raw: unknown, botUserId: string, now: number): IncomingVerdict {
  const parsed = roomEventSchema.safeParse(raw);
  if (!parsed.success) return { ignore: "not a room event" };
  const event = parsed.data;
  if (event.type !== CALL_MEMBER_TYPE || event.state_key === undefined) return { ignore: "not a call membership" };
  if (event.sender === botUserId) return { ignore: "the bot's own membership" };
  const reading = readMembership(event.content, event.origin_server_ts, now);
  if (reading.kind === "malformed") return { ignore: `malformed: ${reading.reason}` };
  if (reading.kind === "left") return { ignore: "a membership that left or expired" };
  const age = ageSchema.safeParse(raw);
  const eventAge = age.success ? age.data.unsigned.age : now - event.origin_server_ts;
  const membership = sessionMembershipSchema.parse(event.content);
  const callAge = membership.created_ts !== undefined ? now - membership.created_ts : eventAge;
  if (Math.max(eventAge, callAge) > MAX_COMMAND_AGE_MS)
    return { ignore: `stale (${String(Math.round(Math.max(eventAge, callAge) / 1000))} s old)` };
  return {
    call: {
      caller: event.sender,
      stateKey: event.state_key,
      deviceId: reading.deviceId,
      expiresAt: reading.expiresAt,
      eventId: event.event_id,
      focus: callerFocus(membership.foci_preferred),
    },
  };
}

/**
 * The focus the bot joins the caller on: the first usable LiveKit entry of their `foci_preferred`. In Element Call's
 * multi-SFU mode that is where the caller publishes (js-sdk CallMembership.getTransport: foci_preferred[0]); in
 * `oldest_membership` mode the room's focus is the oldest membership's, the caller's, who started the call. Joining
 * there puts both in one LiveKit room on a service the caller can surely reach.
 */
export function callerFocus(fociPreferred: readonly unknown[] | undefined): LiveKitFocus | undefined {
  const picked = pickLiveKit(fociPreferred, "membership");
  return typeof picked === "string" ? undefined : picked;
}
