import { describe, expect, it } from "vitest";
import { callStatusLines, describeCall, type CallFigures } from "../../src/call/call-figures.ts";

const base: CallFigures = { callId: "c1", roomId: "!r:x", camera: "frontdoor", peer: "@alice:x", direction: "outgoing", video: undefined };

describe("describeCall (!status)", () => {
  it("says when no video has been sent yet", () => {
    expect(describeCall(base)).toBe("frontdoor → @alice:x: no video sent yet");
  });

  it("shows frame rate, size and frames sent, and what limits the quality", () => {
    const video = {
      framesSent: 1234,
      framesPerSecond: 24.96,
      width: 1280,
      height: 720,
      qualityLimitation: "none",
      counters: { framesEncoded: 1234, totalEncodeTime: 7.4, packetsSent: 5000, totalPacketSendDelay: 80, bytesSent: 6e6, qpSum: 37_000 },
      resolutionChanges: 0,
    };
    expect(describeCall({ ...base, video })).toBe("frontdoor → @alice:x: 25.0 fps 1280x720, 1234 frames sent");
    expect(describeCall({ ...base, direction: "incoming", video: { ...video, qualityLimitation: "cpu" } })).toBe(
      "frontdoor ← @alice:x: 25.0 fps 1280x720, 1234 frames sent (limited by cpu)",
    );
  });
});

describe("callStatusLines (!status for one viewer)", () => {
  const bob = { ...base, callId: "c2", roomId: "!b:x", camera: "garden", peer: "@bob:x" };

  it("details only the viewer's own calls and counts the others", () => {
    expect(callStatusLines([base, bob], "@alice:x")).toEqual([
      "Calls in progress: 2 (1 of them yours)",
      "  frontdoor → @alice:x: no video sent yet",
    ]);
    expect(callStatusLines([base, bob], "@carol:x")).toEqual(["Calls in progress: 2 (none of them yours)"]);
    expect(callStatusLines([base], "@alice:x")).toEqual(["Calls in progress: 1", "  frontdoor → @alice:x: no video sent yet"]);
    expect(callStatusLines([], "@alice:x")).toEqual(["Calls in progress: 0"]);
  });
});
