/**
 * The bot's MatrixRTC event contents (src/matrixrtc/rtc-wire.ts) against the strict receiver schemas written from
 * ruma and js-sdk (test/harness/rtc-wire-schema.ts), and how the bot reads a callee's call.member: joined, left
 * (`{}` or expired), malformed (never a throw).
 */
import { describe, expect, it } from "vitest";
import { membershipContent, membershipStateKey, notificationContent, readMembership } from "../../src/matrixrtc/rtc-wire.ts";
import { strictMembershipSchema, strictNotificationSchema } from "../harness/rtc-wire-schema.ts";

const NOW = 1_764_540_000_000;
const MEMBERSHIP = membershipContent({
  userId: "@cam:hs",
  deviceId: "CAMDEV",
  roomId: "!dm:hs",
  livekitServiceUrl: "https://jwt.example.org",
  createdTs: NOW,
  expiresMs: 14_400_000,
});

describe("the bot's MatrixRTC events", () => {
  it("its membership has every field ruma requires, with the livekit focus aliased to the room", () => {
    const parsed = strictMembershipSchema.parse(MEMBERSHIP);
    expect(parsed.foci_preferred).toEqual([{ type: "livekit", livekit_service_url: "https://jwt.example.org", livekit_alias: "!dm:hs" }]);
    expect(parsed.membershipID).toBe("@cam:hs:CAMDEV");
    expect(membershipStateKey("@cam:hs", "CAMDEV")).toBe("_@cam:hs_CAMDEV_m.call");
  });

  it("the strict schema rejects a membership missing any required field (as ruma would read it as left)", () => {
    for (const field of ["application", "call_id", "scope", "device_id", "expires", "focus_active", "foci_preferred"]) {
      const rest = Object.fromEntries(Object.entries(MEMBERSHIP).filter(([key]) => key !== field));
      expect(strictMembershipSchema.safeParse(rest).success, field).toBe(false);
    }
    const noAlias = { ...MEMBERSHIP, foci_preferred: [{ type: "livekit", livekit_service_url: "https://jwt.example.org" }] };
    expect(strictMembershipSchema.safeParse(noAlias).success).toBe(false);
  });

  it("its ring mentions the callee and refers to the membership event", () => {
    const ring = strictNotificationSchema.parse(
      notificationContent({ callee: "@alice:hs", membershipEventId: "$member", senderTs: NOW, lifetimeMs: 30_000 }),
    );
    expect(ring["m.mentions"].user_ids).toEqual(["@alice:hs"]);
    expect(ring["m.relates_to"]).toEqual({ rel_type: "m.reference", event_id: "$member" });
    expect(ring.lifetime).toBe(30_000);
  });
});

describe("reading a callee's call.member", () => {
  const callee = {
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: "ALICE",
    expires: 60_000,
    foci_preferred: [],
    focus_active: { type: "livekit" },
  };

  it("an active membership is joined until created_ts (or the event's timestamp) + expires", () => {
    expect(readMembership(callee, NOW, NOW + 1_000)).toEqual({ kind: "joined", deviceId: "ALICE", expiresAt: NOW + 60_000 });
    expect(readMembership({ ...callee, created_ts: NOW - 30_000 }, NOW, NOW)).toEqual({
      kind: "joined",
      deviceId: "ALICE",
      expiresAt: NOW + 30_000,
    });
  });

  it("{} and an expired membership are left", () => {
    expect(readMembership({}, NOW, NOW)).toEqual({ kind: "left" });
    expect(readMembership(callee, NOW, NOW + 60_001)).toEqual({ kind: "left" });
  });

  it("anything else is malformed, with a reason, never a throw", () => {
    for (const bad of [
      { application: "m.call" },
      { ...callee, device_id: 7 },
      { ...callee, scope: "m.user" },
      { ...callee, call_id: "other" },
      { ...callee, expires: "soon" },
      { junk: { deep: [1, 2] } },
    ]) {
      const reading = readMembership(bad, NOW, NOW);
      expect(reading.kind).toBe("malformed");
    }
  });
});
