/** The direct chat the bot creates lets the invitee join a MatrixRTC call, and keeps Synapse's other levels. */
import { describe, expect, it } from "vitest";
import { directChatRequest } from "../../src/doorbell/dm-rooms.ts";
import { CALL_MEMBER_TYPE, openSlotSchema, RTC_SLOT_STATE_KEY, RTC_SLOT_TYPE } from "../../src/matrixrtc/rtc-wire.ts";

describe("directChatRequest", () => {
  const req = directChatRequest("@alice:x");

  it("is an unencrypted private DM inviting the user", () => {
    expect(req).toMatchObject({ preset: "private_chat", is_direct: true, invite: ["@alice:x"] });
    expect(req.initial_state.map((e) => e.type)).not.toContain("m.room.encryption");
  });

  it("opens the MatrixRTC slot with the room, so the first ring does not wait for it", () => {
    const slot = req.initial_state.find((e) => e.type === RTC_SLOT_TYPE && e.state_key === RTC_SLOT_STATE_KEY);
    expect(openSlotSchema.safeParse(slot?.content).success).toBe(true);
  });

  it("lets members (level 0) send the call.member state event", () => {
    expect(req.power_level_content_override.events[CALL_MEMBER_TYPE]).toBe(0);
  });

  it("keeps the levels Synapse's default events map would have given (the override replaces that map)", () => {
    expect(req.power_level_content_override.events).toMatchObject({
      "m.room.power_levels": 100,
      "m.room.encryption": 100,
      "m.room.name": 50,
    });
  });
});
