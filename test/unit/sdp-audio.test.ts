/** The camera's sound is sent as G.722: the callee's answer gets it first on its audio m-line, and nothing else moves. */
import { describe, expect, it } from "vitest";
import { sendAudioAs } from "../../src/rtc/sdp-audio.ts";
import { RTCPeerConnection } from "../../src/rtc/wrtc.ts";

// The shape of an answer from Chrome (Element Web): Opus first, then G.722, the G.711s and telephone-event; then video.
const ANSWER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8 126",
  "a=mid:0",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:126 telephone-event/8000",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 9",
  "a=mid:1",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:9 G722/8000",
  "",
].join("\r\n");

describe("sendAudioAs", () => {
  it("moves the codec's payload type to the front of the audio m-line only, keeping every other line and CRLF", () => {
    const out = sendAudioAs(ANSWER);
    expect(out.split("\r\n")).toContain("m=audio 9 UDP/TLS/RTP/SAVPF 9 111 0 8 126");
    // A video section's own type 9 (a made-up clash: types are per section) is not audio's business.
    expect(out.split("\r\n")).toContain("m=video 9 UDP/TLS/RTP/SAVPF 96 9");
    expect(out.replace("SAVPF 9 111 0 8 126", "SAVPF 111 9 0 8 126")).toBe(ANSWER);
    expect(sendAudioAs(out)).toBe(out);
  });

  it("leaves an answer without the codec, or with it only in rtpmap and not on the m-line, as it was", () => {
    const opusOnly = ANSWER.replace("SAVPF 111 9 0 8 126", "SAVPF 111").replace("a=rtpmap:9 G722/8000\r\na=rtpmap:0", "a=rtpmap:0");
    expect(sendAudioAs(opusOnly)).toBe(opusOnly);
    const notOffered = ANSWER.replace("SAVPF 111 9 0 8 126", "SAVPF 111 0 8 126");
    expect(sendAudioAs(notOffered)).toBe(notOffered);
    const lf = ANSWER.replaceAll("\r\n", "\n");
    expect(sendAudioAs(lf)).toBe(sendAudioAs(ANSWER).replaceAll("\r\n", "\n"));
  });

  it("leaves comfort noise out of a section it changed (with G.722 libwebrtc would send voice detection and CN)", () => {
    const withCn = ANSWER.replace("SAVPF 111 9 0 8 126", "SAVPF 111 9 0 8 13 126").replace(
      "a=rtpmap:126 telephone-event/8000",
      "a=rtpmap:13 CN/8000\r\na=rtpmap:126 telephone-event/8000",
    );
    const lines = sendAudioAs(withCn).split("\r\n");
    expect(lines).toContain("m=audio 9 UDP/TLS/RTP/SAVPF 9 111 0 8 126");
    expect(lines.filter((l) => l.includes("CN/"))).toEqual([]);
    expect(lines).toContain("a=rtpmap:126 telephone-event/8000");
    // Without G.722 the section is not touched, CN included.
    const noG722 = withCn.replace("SAVPF 111 9 0 8 13 126", "SAVPF 111 0 8 13 126");
    expect(sendAudioAs(noG722)).toBe(noG722);
  });

  it("changes every audio section by its own types, whatever the codec name's case; a rejected section stays as it is", () => {
    const two = [
      "v=0",
      "m=audio 9 RTP/SAVPF 111 104",
      "a=rtpmap:111 opus/48000/2",
      "a=rtpmap:104 g722/8000",
      "m=audio 0 RTP/SAVPF 111",
      "a=rtpmap:111 opus/48000/2",
      "m=audio 9 RTP/SAVPF 111 9",
      "a=rtpmap:111 opus/48000/2",
      "a=rtpmap:9 G722/8000",
      "",
    ].join("\n");
    expect(
      sendAudioAs(two)
        .split("\n")
        .filter((l) => l.startsWith("m=")),
    ).toEqual(["m=audio 9 RTP/SAVPF 104 111", "m=audio 0 RTP/SAVPF 111", "m=audio 9 RTP/SAVPF 9 111"]);
  });

  it("makes libwebrtc's audio sender use G.722 while the other side keeps Opus (a real wrtc pair)", async () => {
    const bot = new RTCPeerConnection();
    const callee = new RTCPeerConnection();
    try {
      bot.addTransceiver("audio", { direction: "sendrecv" });
      const offer = await bot.createOffer();
      await bot.setLocalDescription(offer);
      await callee.setRemoteDescription(offer);
      const offered = callee.getTransceivers()[0];
      if (offered === undefined) throw new Error("the offer made no transceiver");
      offered.direction = "sendrecv";
      const answer = await callee.createAnswer();
      await callee.setLocalDescription(answer);
      expect(answer.sdp).toMatch(/m=audio \d+ \S+ 111 /);
      await bot.setRemoteDescription({ type: "answer", sdp: sendAudioAs(answer.sdp ?? "") });
      const sent = (pc: RTCPeerConnection): string | undefined => pc.getTransceivers()[0]?.sender.getParameters().codecs[0]?.mimeType;
      expect(sent(bot)).toBe("audio/G722");
      expect(sent(callee)).toBe("audio/opus");
    } finally {
      bot.close();
      callee.close();
    }
  });
});
