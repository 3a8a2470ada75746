/**
 * What a MatrixRTC call reads from its room (src/matrixrtc/callee-events.ts): only the callee's decline, call.member
 * and room membership events count; a malformed one is reported with the call's log line, never thrown.
 */
import { describe, expect, it } from "vitest";
import { readCalleeEvent } from "../../src/matrixrtc/callee-events.ts";
import { CALL_MEMBER_TYPE, membershipStateKey, RTC_DECLINE_TYPE } from "../../src/matrixrtc/rtc-wire.ts";

const NOW = 1_764_540_000_000;
const ALICE = "@alice:hs";
const BOT = "@cam:hs";
const PARTIES = { callee: ALICE, bot: BOT };
const KEY = membershipStateKey(ALICE, "PHONE");
const MEMBER = { application: "m.call", call_id: "", scope: "m.room", device_id: "PHONE", expires: 60_000 };

function event(over: Record<string, unknown>): Record<string, unknown> {
  return { type: CALL_MEMBER_TYPE, sender: ALICE, event_id: "$e", origin_server_ts: NOW - 1000, state_key: KEY, content: MEMBER, ...over };
}

const decline = (content: Record<string, unknown>): Record<string, unknown> =>
  event({ type: RTC_DECLINE_TYPE, state_key: undefined, content });

describe("readCalleeEvent", () => {
  it("the callee's membership: joined with its device and expiry, left when emptied or expired", () => {
    expect(readCalleeEvent(event({}), PARTIES, NOW)).toEqual({
      kind: "joined",
      stateKey: KEY,
      deviceId: "PHONE",
      expiresAt: NOW - 1000 + 60_000,
    });
    expect(readCalleeEvent(event({ content: {} }), PARTIES, NOW)).toEqual({ kind: "left", stateKey: KEY });
    expect(readCalleeEvent(event({}), PARTIES, NOW + 60_000)).toEqual({ kind: "left", stateKey: KEY });
  });

  it("the callee's decline names the ring it answers", () => {
    expect(readCalleeEvent(decline({ "m.relates_to": { rel_type: "m.reference", event_id: "$ring" } }), PARTIES, NOW)).toEqual({
      kind: "declined",
      ring: "$ring",
    });
  });

  it("malformed declines and memberships are reported with the line the call logs", () => {
    expect(readCalleeEvent(decline({ "m.relates_to": "$ring" }), PARTIES, NOW)).toMatchObject({
      kind: "malformed",
      eventId: "$e",
      what: "ignoring a malformed rtc.decline",
    });
    const member = readCalleeEvent(event({ content: { ...MEMBER, device_id: 42 } }), PARTIES, NOW);
    expect(member).toMatchObject({ kind: "malformed", what: "ignoring a malformed call.member event of the callee" });
    expect(member.kind === "malformed" ? member.reason : undefined).toMatch(/device_id/);
  });

  it("the room no longer the two of them: the callee leaving, kicked or banned (whoever sent it), or a third member joining", () => {
    const member = (stateKey: string, membership: string, sender = stateKey): Record<string, unknown> =>
      event({ type: "m.room.member", state_key: stateKey, sender, content: { membership } });
    const left = { kind: "room-changed", reason: `${ALICE} left the room` };
    expect(readCalleeEvent(member(ALICE, "leave"), PARTIES, NOW)).toEqual(left);
    expect(readCalleeEvent(member(ALICE, "leave", "@admin:hs"), PARTIES, NOW)).toEqual(left);
    expect(readCalleeEvent(member(ALICE, "ban", "@admin:hs"), PARTIES, NOW)).toEqual(left);
    expect(readCalleeEvent(member("@bob:hs", "join"), PARTIES, NOW)).toEqual({
      kind: "room-changed",
      reason: "@bob:hs joined the room (a MatrixRTC call is open to anyone in it)",
    });
  });

  it("the callee's or the bot's own join, an invite, someone else leaving, the bot's own leave: nothing to the call", () => {
    const member = (stateKey: string, membership: string): Record<string, unknown> =>
      event({ type: "m.room.member", state_key: stateKey, sender: stateKey, content: { membership } });
    for (const raw of [
      member(ALICE, "join"),
      member(ALICE, "invite"),
      member(ALICE, ""),
      member(BOT, "join"),
      member(BOT, "leave"),
      member("@bob:hs", "invite"),
      member("@bob:hs", "leave"),
      { ...member("@bob:hs", "join"), state_key: undefined },
    ])
      expect(readCalleeEvent(raw, PARTIES, NOW)).toEqual({ kind: "other" });
  });

  it("someone else's events, other types, state-less members and what is not an event are nothing to the call", () => {
    for (const raw of [
      event({ sender: "@mallory:hs" }),
      { ...decline({ "m.relates_to": { rel_type: "m.reference", event_id: "$ring" } }), sender: "@mallory:hs" },
      event({ type: "m.room.message" }),
      event({ state_key: undefined }),
      event({ content: "nope" }),
      null,
      "text",
    ])
      expect(readCalleeEvent(raw, PARTIES, NOW)).toEqual({ kind: "other" });
  });
});
