/**
 * Whose LiveKit participant the bot plays at the door (src/matrixrtc/livekit-voice.ts): the callee's devices only,
 * identity `{user_id}:{device_id}` as the token service mints it. The end-to-end proof (a stranger in the LiveKit
 * room, never heard) is test/e2e/matrixrtc-talkback.test.ts; this is the identity rule on its own.
 */
import { describe, expect, it } from "vitest";
import { isCalleeIdentity } from "../../src/matrixrtc/livekit-voice.ts";

describe("isCalleeIdentity", () => {
  it("accepts the callee's devices", () => {
    expect(isCalleeIdentity("@alice:example.org", "@alice:example.org:PHONE")).toBe(true);
    expect(isCalleeIdentity("@alice:hs:8448", "@alice:hs:8448:LAPTOP")).toBe(true);
  });

  it("refuses other users, including one whose server only adds a port or a longer name", () => {
    expect(isCalleeIdentity("@alice:hs", "@alice:hs:8448:DEV")).toBe(false);
    expect(isCalleeIdentity("@alice:hs", "@alice:hs.evil:DEV")).toBe(false);
    expect(isCalleeIdentity("@al:hs", "@alice:hs:DEV")).toBe(false);
    expect(isCalleeIdentity("@alice:hs", "@mallory:hs:DEV")).toBe(false);
  });

  it("refuses an identity with no device, and hashed identities (matrix_2_0 mode)", () => {
    expect(isCalleeIdentity("@alice:hs", "@alice:hs")).toBe(false);
    expect(isCalleeIdentity("@alice:hs", "@alice:hs:")).toBe(false);
    expect(isCalleeIdentity("@alice:hs", "dGhpcyBpcyBhIGhhc2g")).toBe(false);
  });
});
