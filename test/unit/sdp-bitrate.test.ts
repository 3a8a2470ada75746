/** The video send limits go into the remote description's video fmtp lines, and libwebrtc accepts the result. */
import { describe, expect, it } from "vitest";
import { withVideoBitrate } from "../../src/rtc/sdp-bitrate.ts";
import { RTCPeerConnection } from "../../src/rtc/wrtc.ts";

// The shape of an answer from Chrome (Element Web): audio first, then video with VP8 + rtx, H264 with its fmtp.
const ANSWER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:0",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102",
  "a=mid:1",
  "a=rtpmap:96 VP8/90000",
  "a=rtcp-fb:96 transport-cc",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:102 H264/90000",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "",
].join("\r\n");

describe("withVideoBitrate", () => {
  const out = withVideoBitrate(ANSWER, 6000, 1500);
  const lines = out.split("\r\n");

  it("adds an fmtp line for a video codec without one, and extends one that exists", () => {
    expect(lines).toContain("a=fmtp:96 x-google-max-bitrate=6000;x-google-start-bitrate=1500");
    expect(lines).toContain(
      "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-max-bitrate=6000;x-google-start-bitrate=1500",
    );
  });

  it("leaves audio, rtx and everything else as it was, and keeps CRLF and the final empty line", () => {
    expect(lines).toContain("a=fmtp:111 minptime=10;useinbandfec=1");
    expect(lines).toContain("a=fmtp:97 apt=96");
    expect(out.endsWith("\r\n")).toBe(true);
    expect(
      out
        .split("\r\n")
        .filter((l) => !l.includes("x-google"))
        .join("\r\n"),
    ).toBe(
      ANSWER.split("\r\n")
        .filter((l) => !l.includes("fmtp:102"))
        .join("\r\n"),
    );
  });

  it("is idempotent and never raises the start above the cap", () => {
    expect(withVideoBitrate(out, 6000, 1500)).toBe(out);
    expect(withVideoBitrate(ANSWER, 1000, 1500)).toContain("x-google-max-bitrate=1000;x-google-start-bitrate=1000");
  });

  it("gives an SDP libwebrtc takes (a real offer from wrtc, munged, set as the remote description)", async () => {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    try {
      a.addTransceiver("video");
      const offer = await a.createOffer();
      await b.setRemoteDescription({ type: "offer", sdp: withVideoBitrate(offer.sdp ?? "") });
      expect(b.remoteDescription?.sdp).toMatch(/x-google-max-bitrate=4000/);
    } finally {
      a.close();
      b.close();
    }
  });
});
