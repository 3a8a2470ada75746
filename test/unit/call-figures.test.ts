import { describe, expect, it } from "vitest";
import { describeCall, type CallFigures } from "../../src/call/call-figures.ts";

const base: CallFigures = { callId: "c1", roomId: "!r:x", camera: "frontdoor", peer: "@alice:x", direction: "outgoing", video: undefined };

describe("describeCall (!status)", () => {
  it("says when no video has been sent yet", () => {
    expect(describeCall(base)).toBe("frontdoor → @alice:x: no video sent yet");
  });

  it("shows frame rate, size and frames sent, and what limits the quality", () => {
    const video = { framesSent: 1234, framesPerSecond: 24.96, width: 1280, height: 720, qualityLimitation: "none" };
    expect(describeCall({ ...base, video })).toBe("frontdoor → @alice:x: 25.0 fps 1280x720, 1234 frames sent");
    expect(describeCall({ ...base, direction: "incoming", video: { ...video, qualityLimitation: "cpu" } })).toBe(
      "frontdoor ← @alice:x: 25.0 fps 1280x720, 1234 frames sent (limited by cpu)",
    );
  });
});
