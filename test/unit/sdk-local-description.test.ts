/**
 * The harness's follower for matrix-js-sdk's peer connections (test/harness/sdk-local-description.ts), on the real
 * wrtc: MatrixCall's connections answer `localDescription` from what was set and gathered, not from wrtc's racing
 * getter, and everything else still reaches the connection.
 */
/* eslint-disable no-restricted-properties -- the reads below go to the follower under test, not to wrtc's getter */
import { describe, expect, it } from "vitest";
import { IceGathering } from "../../src/rtc/ice-gathering.ts";
import { RTCPeerConnection } from "../../src/rtc/wrtc.ts";
import { followSdkLocalDescriptions } from "../harness/sdk-local-description.ts";

class FakeMatrixCall {
  createPeerConnection(): RTCPeerConnection {
    return new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  }
}

describe("followSdkLocalDescriptions", () => {
  it("MatrixCall's connections give the set description with the gathered candidates; methods and handlers work", async () => {
    followSdkLocalDescriptions(FakeMatrixCall);
    followSdkLocalDescriptions(FakeMatrixCall); // once per process, however often asked
    const pc = new FakeMatrixCall().createPeerConnection();
    try {
      const seen: string[] = [];
      pc.onsignalingstatechange = () => seen.push(pc.signalingState);
      const gathering = new IceGathering(pc);
      pc.addTransceiver("audio");
      expect(pc.localDescription).toBeNull();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      expect(pc.localDescription?.toJSON()).toEqual({ type: "offer", sdp: expect.any(String) as string });
      expect(await gathering.complete(15_000)).toBe(true);
      expect(pc.localDescription?.sdp).toMatch(/\r\na=candidate:.* typ host/);
      expect(pc.localDescription?.sdp.replace(/a=candidate:.*\r\n/g, "")).toBe(offer.sdp);
      expect(seen).toEqual(["have-local-offer"]);
      await expect(pc.setLocalDescription()).rejects.toThrow(/explicit local descriptions only/);
    } finally {
      pc.close();
    }
  });
});
