/**
 * The createRoom request for a new direct chat, on its own because it is pure data with a unit test of its own
 * (test/unit/dm-room-request.test.ts): the preset and the power-level override that lets the invitee take part in a
 * MatrixRTC call. dm-rooms.ts re-exports it, so `directChatRequest` is importable from there as before.
 */
import { CALL_MEMBER_TYPE, RTC_SLOT_OPEN_CONTENT, RTC_SLOT_STATE_KEY, RTC_SLOT_TYPE } from "../matrixrtc/rtc-wire.ts";

/** Synapse's default `events` power levels of a new room (synapse/handlers/room.py). */
const SYNAPSE_DEFAULT_EVENT_LEVELS = {
  "m.room.name": 50,
  "m.room.power_levels": 100,
  "m.room.history_visibility": 100,
  "m.room.canonical_alias": 50,
  "m.room.avatar": 50,
  "m.room.tombstone": 100,
  "m.room.server_acl": 100,
  "m.room.encryption": 100,
};

/**
 * The new direct chat: no m.room.encryption in the initial state (the calls' signalling must be readable without
 * E2EE), and the invitee may send `org.matrix.msc3401.call.member`: it is a state event, whose state_default is 50 in
 * private_chat, so without this Element X could not join a MatrixRTC call there (docs/matrixrtc.md). Synapse merges
 * the override one level deep: `events` replaces its default map, so that map's entries are repeated here.
 * The room's MSC4143 slot is open from the start (rtc-wire.ts RTC_SLOT_TYPE says why a ring needs it): the first
 * MatrixRTC ring in the chat, usually a doorbell's moments after it was made, does not wait for a slot PUT, which
 * Synapse persists one after the other with the call's membership (its access log: 74–183 ms each on a busy run).
 */
export function directChatRequest(userId: string): {
  preset: "private_chat";
  is_direct: true;
  invite: string[];
  power_level_content_override: { events: Record<string, number> };
  initial_state: { type: string; state_key: string; content: Record<string, unknown> }[];
} {
  return {
    preset: "private_chat",
    is_direct: true,
    invite: [userId],
    power_level_content_override: { events: { ...SYNAPSE_DEFAULT_EVENT_LEVELS, [CALL_MEMBER_TYPE]: 0 } },
    initial_state: [{ type: RTC_SLOT_TYPE, state_key: RTC_SLOT_STATE_KEY, content: { ...RTC_SLOT_OPEN_CONTENT } }],
  };
}
