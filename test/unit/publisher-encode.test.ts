/**
 * A MatrixRTC call's encoder figures from rtc-node's Room.getRtcStats() (publisher-encode.ts). Pure mapping: the
 * entries are shaped as rtc-node gives them (a protobuf oneof, `stats.case` and `stats.value`, every field optional);
 * test/e2e/livekit-publish.test.ts reads a real publisher's.
 */
import { describe, expect, it } from "vitest";
import { videoEncodeFigures, type RtcStatsEntry } from "../../src/matrixrtc/publisher-encode.ts";

function outbound(kind: string, outboundFields: Record<string, unknown>): RtcStatsEntry {
  return { stats: { case: "outboundRtp", value: { rtc: { id: "x" }, stream: { ssrc: 1, kind }, sent: {}, outbound: outboundFields } } };
}

const video720 = { frameWidth: 1280, frameHeight: 720, framesEncoded: 250, totalEncodeTime: 3.05, qualityLimitationResolutionChanges: 2 };

describe("videoEncodeFigures", () => {
  it("reads the video outbound-rtp entry: size, frames, encode seconds, libwebrtc's size changes", () => {
    const entries: RtcStatsEntry[] = [
      { stats: { case: "transport", value: { dtlsState: 1 } } },
      outbound("audio", { framesEncoded: 0 }),
      outbound("video", video720),
    ];
    expect(videoEncodeFigures(entries)).toEqual({
      width: 1280,
      height: 720,
      counters: { framesEncoded: 250, totalEncodeTime: 3.05 },
      resolutionChanges: 2,
    });
  });

  it("is undefined before a frame is encoded (no size yet), for no entries and for an unset oneof", () => {
    expect(videoEncodeFigures([outbound("video", { framesEncoded: 0, totalEncodeTime: 0 })])).toBeUndefined();
    expect(videoEncodeFigures([])).toBeUndefined();
    expect(videoEncodeFigures([{ stats: { case: undefined } }])).toBeUndefined();
  });

  it("a missing resolution-change count reads as none; a malformed entry is skipped, not thrown", () => {
    const noChanges = { frameWidth: 1280, frameHeight: 720, framesEncoded: 250, totalEncodeTime: 3.05 };
    expect(videoEncodeFigures([outbound("video", noChanges)])?.resolutionChanges).toBe(0);
    expect(videoEncodeFigures([outbound("video", { ...video720, framesEncoded: "many" })])).toBeUndefined();
    expect(videoEncodeFigures([{ stats: { case: "outboundRtp", value: null } }])).toBeUndefined();
  });

  it("with several video layers, the largest (the one that costs most)", () => {
    const small = { ...video720, frameWidth: 320, frameHeight: 180, framesEncoded: 900 };
    expect(videoEncodeFigures([outbound("video", small), outbound("video", video720)])?.width).toBe(1280);
    expect(videoEncodeFigures([outbound("video", video720), outbound("video", small)])?.width).toBe(1280);
  });
});
