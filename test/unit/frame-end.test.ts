/**
 * The frame ender (src/media/frame-end.ts) and the RTSP splitter it reads through (src/media/rtsp-split.ts), on
 * the RTSP exchange ffmpeg has with a camera: which channel carries the video, where a delimiter goes, and when
 * it stops. The proxy around it is proven on real parts in test/e2e/frame-end-proxy.test.ts.
 */
import { describe, expect, it, vi } from "vitest";
import { findVideoTrack, FrameEnder, setsUp } from "../../src/media/frame-end.ts";
import { proxiedUrl, proxyable } from "../../src/media/frame-end-proxy.ts";
import { rtspTarget } from "../../src/util/rtsp-url.ts";
import { headerOf, MAX_HEADER_BYTES, RtspSplitter, type RtspPiece, type RtspPieces } from "../../src/media/rtsp-split.ts";

const SDP = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=cam",
  "t=0 0",
  "a=control:*",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  "a=control:stream=0",
  "m=audio 0 RTP/AVP 8",
  "a=rtpmap:8 PCMA/8000",
  "a=control:stream=1",
  "",
].join("\r\n");

function rtp(opts: { pt?: number; seq: number; ts: number; marker?: boolean }): Buffer {
  const b = Buffer.alloc(14);
  b[0] = 0x80;
  b[1] = (opts.pt ?? 96) | (opts.marker === true ? 0x80 : 0);
  b.writeUInt16BE(opts.seq, 2);
  b.writeUInt32BE(opts.ts >>> 0, 4);
  b.writeUInt32BE(0x1234abcd, 8);
  b[12] = 0x65;
  return b;
}

/** A frame ender that has seen DESCRIBE and the video's SETUP answered with interleaved=2-3. */
function described(sdp = SDP, setupUrl = "rtsp://127.0.0.1:41000/live/stream=0"): FrameEnder {
  const ender = new FrameEnder();
  ender.request("DESCRIBE rtsp://127.0.0.1:41000/live RTSP/1.0\r\nCSeq: 2");
  ender.response("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 9", Buffer.from(sdp));
  ender.request(`SETUP ${setupUrl} RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1`);
  ender.response("RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\nSession: 77", Buffer.alloc(0));
  return ender;
}

describe("FrameEnder", () => {
  it("writes a delimiter after each frame's marker packet, on the video's channel, with the next frame's foretold timestamp", () => {
    const ender = described();
    expect(ender.frame(2, rtp({ seq: 10, ts: 1000 }))).toBeUndefined();
    // No step between frames known yet: the first frame is left as it was.
    expect(ender.frame(2, rtp({ seq: 11, ts: 1000, marker: true }))).toBeUndefined();
    expect(ender.frame(2, rtp({ seq: 12, ts: 4600 }))).toBeUndefined();
    const d = ender.frame(2, rtp({ seq: 13, ts: 4600, marker: true }));
    expect(d).toBeDefined();
    if (d === undefined) return;
    expect([...d.subarray(0, 4)]).toEqual([0x24, 2, 0, 14]);
    expect(d[4]).toBe(0x80);
    expect(d[5]).toBe(96);
    expect(d.readUInt16BE(6)).toBe(13);
    expect(d.readUInt32BE(8)).toBe(8200);
    expect(d.readUInt32BE(12)).toBe(0x1234abcd);
    expect([...d.subarray(16)]).toEqual([0x09, 0xf0]);
    expect(ender.counts).toEqual({ video: 4, delimiters: 1 });
  });

  it("follows the timestamp across its wrap", () => {
    const ender = described();
    ender.frame(2, rtp({ seq: 1, ts: 0xffffff00, marker: true }));
    const d = ender.frame(2, rtp({ seq: 2, ts: 0xffffff00 + 3600, marker: true }));
    expect(d?.readUInt32BE(8)).toBe((0xffffff00 + 7200) >>> 0);
    expect(ender.stopped).toBeUndefined();
  });

  it("leaves other channels, the audio, RTCP and other payload types alone", () => {
    const ender = described();
    for (const ts of [0, 3600, 7200]) {
      expect(ender.frame(0, rtp({ seq: 1, ts, marker: true }))).toBeUndefined();
      expect(ender.frame(3, rtp({ seq: 1, ts, marker: true }))).toBeUndefined();
      expect(ender.frame(2, rtp({ pt: 97, seq: 1, ts, marker: true }))).toBeUndefined();
    }
    expect(ender.counts.delimiters).toBe(0);
    expect(ender.frame(2, Buffer.from([0x80, 0xe0, 0]))).toBeUndefined();
  });

  it("stops for good when timestamps go back (B-frames) or a marker does not end the frame", () => {
    const b = described();
    b.frame(2, rtp({ seq: 1, ts: 3600, marker: true }));
    b.frame(2, rtp({ seq: 2, ts: 10800, marker: true }));
    expect(b.frame(2, rtp({ seq: 3, ts: 7200, marker: true }))).toBeUndefined();
    expect(b.stopped).toMatch(/capture order/);
    expect(b.frame(2, rtp({ seq: 4, ts: 14400, marker: true }))).toBeUndefined();

    const m = described();
    m.frame(2, rtp({ seq: 1, ts: 0, marker: true }));
    expect(m.frame(2, rtp({ seq: 2, ts: 3600, marker: true }))).toBeDefined();
    // A second slice of the same frame after its "end": the camera marks slices, not frames.
    expect(m.frame(2, rtp({ seq: 3, ts: 3600, marker: true }))).toBeUndefined();
    expect(m.stopped).toMatch(/marker/);
    expect(m.frame(2, rtp({ seq: 4, ts: 7200, marker: true }))).toBeUndefined();
  });

  it("writes none in a session of a camera an earlier session stopped for", () => {
    const ender = new FrameEnder("the camera's frames are not in capture order (B-frames)");
    ender.response("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp", Buffer.from(SDP));
    ender.request("SETUP rtsp://cam.example/live/stream=0 RTSP/1.0\r\nCSeq: 3");
    ender.response("RTSP/1.0 200 OK\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1", Buffer.alloc(0));
    for (const [seq, ts] of [
      [1, 0],
      [2, 3600],
      [3, 7200],
    ] as const)
      expect(ender.frame(0, rtp({ seq, ts, marker: true }))).toBeUndefined();
    expect(ender.counts).toEqual({ video: 3, delimiters: 0 });
  });

  it("writes H.265's delimiter for an H.265 track, and nothing before its SETUP is answered", () => {
    const ender = new FrameEnder();
    const sdp = SDP.replace("H264/90000", "H265/90000");
    ender.response("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp", Buffer.from(sdp));
    expect(ender.frame(0, rtp({ seq: 1, ts: 0, marker: true }))).toBeUndefined();
    ender.request("SETUP rtsp://cam.example/live/stream=0 RTSP/1.0\r\nCSeq: 5");
    ender.response("RTSP/1.0 200 OK\r\nCSeq: 5\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1", Buffer.alloc(0));
    ender.frame(0, rtp({ seq: 1, ts: 0, marker: true }));
    expect([...(ender.frame(0, rtp({ seq: 2, ts: 3000, marker: true }))?.subarray(16) ?? [])]).toEqual([0x46, 0x01, 0x50]);
  });

  it("maps the audio's SETUP to nothing", () => {
    const ender = described(SDP, "rtsp://127.0.0.1:41000/live/stream=1");
    expect(ender.frame(2, rtp({ seq: 1, ts: 0, marker: true }))).toBeUndefined();
    expect(ender.frame(2, rtp({ seq: 2, ts: 3600, marker: true }))).toBeUndefined();
    expect(ender.counts.video).toBe(0);
  });
});

describe("the video track and its SETUP", () => {
  it("finds the first H.264/H.265 video track; none in an MJPEG or audio-only SDP", () => {
    expect(findVideoTrack(SDP)).toEqual({ codec: "H264", payloadType: 96, control: "stream=0", sections: 2, others: ["stream=1"] });
    expect(findVideoTrack(SDP.replace("96 H264/90000", "96 JPEG/90000"))).toBeUndefined();
    expect(findVideoTrack("v=0\r\nm=audio 0 RTP/AVP 0\r\n")).toBeUndefined();
  });

  it("matches relative, absolute and aggregate controls as ffmpeg resolves them", () => {
    const track = { codec: "H264" as const, payloadType: 96, control: "trackID=1", sections: 2, others: ["trackID=2"] };
    expect(setsUp("rtsp://127.0.0.1:9/a/trackID=1", track)).toBe(true);
    expect(setsUp("rtsp://127.0.0.1:9/a/trackID=2", track)).toBe(false);
    const absolute = { ...track, control: "rtsp://192.0.2.7:554/a/trackID=1" };
    expect(setsUp("rtsp://192.0.2.7:554/a/trackID=1", absolute)).toBe(true);
    expect(setsUp("rtsp://127.0.0.1:9/a/trackID=1", absolute)).toBe(true);
    expect(setsUp("rtsp://127.0.0.1:9/a", { ...track, control: "*", sections: 1 })).toBe(true);
    expect(setsUp("rtsp://127.0.0.1:9/a", { ...track, control: "", sections: 2 })).toBe(false);
  });

  it("does not take another track's SETUP for the video's when the video's control ends the other's", () => {
    const sdp = SDP.replace("a=control:stream=0", "a=control:1").replace("a=control:stream=1", "a=control:audio/1");
    const track = findVideoTrack(sdp);
    expect(track).toMatchObject({ control: "1", others: ["audio/1"] });
    if (track === undefined) return;
    expect(setsUp("rtsp://127.0.0.1:9/live/1", track)).toBe(true);
    expect(setsUp("rtsp://127.0.0.1:9/live/audio/1", track)).toBe(false);
  });
});

describe("RtspSplitter", () => {
  const pieces = (out: RtspPieces | { broken: string }): RtspPiece[] => {
    if ("broken" in out) throw new Error(out.broken);
    expect(out.bytes.equals(Buffer.concat(out.pieces.map((p) => p.raw)))).toBe(true);
    return out.pieces;
  };

  it("cuts messages with bodies and interleaved frames, across chunk boundaries", () => {
    const msg = Buffer.from("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 4\r\n\r\nv=0\n");
    const frame = Buffer.concat([Buffer.from([0x24, 2, 0, 3]), Buffer.from([1, 2, 3])]);
    const all = Buffer.concat([msg, frame, frame]);
    const s = new RtspSplitter();
    const got: RtspPiece[] = [];
    for (let i = 0; i < all.length; i += 5) got.push(...pieces(s.push(all.subarray(i, i + 5))));
    expect(got.map((p) => p.kind)).toEqual(["message", "frame", "frame"]);
    const [m, f] = got;
    expect(m?.kind === "message" && m.body.toString()).toBe("v=0\n");
    expect(f?.kind === "frame" && [f.channel, ...f.payload]).toEqual([2, 1, 2, 3]);
    expect(Buffer.concat(got.map((p) => p.raw)).equals(all)).toBe(true);
  });

  it("reads a camera whose lines end in a bare LF (RFC 2326 allows it; ffmpeg reads it)", () => {
    const got = pieces(
      new RtspSplitter().push(Buffer.from("RTSP/1.0 200 OK\nCSeq: 3\nContent-Length: 2\n\nokRTSP/1.0 200 OK\nCSeq: 4\n\n")),
    );
    expect(got.map((p) => (p.kind === "message" ? [headerOf(p.head, "cseq"), p.body.toString()] : []))).toEqual([
      ["3", "ok"],
      ["4", ""],
    ]);
  });

  it("joins a frame fed a byte at a time once, when it is whole", () => {
    const frame = Buffer.concat([Buffer.from([0x24, 0, 0x10, 0]), Buffer.alloc(4096, 7)]);
    const s = new RtspSplitter();
    const got: RtspPiece[] = [];
    const concat = vi.spyOn(Buffer, "concat");
    for (const byte of frame) {
      const out = s.push(Buffer.from([byte]));
      if ("broken" in out) throw new Error(out.broken);
      got.push(...out.pieces);
    }
    // The 4-byte header joined a byte at a time, then the frame once, when it is whole.
    const joins = concat.mock.calls.length;
    concat.mockRestore();
    expect(joins).toBeLessThan(10);
    expect(got).toHaveLength(1);
    expect(got[0]?.raw.equals(frame)).toBe(true);
  });

  it("breaks on headers over the limit and on a bad or huge Content-Length", () => {
    expect(new RtspSplitter().push(Buffer.alloc(MAX_HEADER_BYTES + 1, 0x41))).toHaveProperty("broken");
    expect(new RtspSplitter().push(Buffer.from("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n"))).toHaveProperty("broken");
    expect(new RtspSplitter().push(Buffer.from("RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n"))).toHaveProperty("broken");
  });
});

describe("proxyable", () => {
  it("takes rtsp:// URLs the proxy can read its host from; not rtsps://, not what URL cannot parse", () => {
    expect(proxyable("rtsp://u:p@cam.example:8554/live")).toBe(true);
    expect(proxyable("rtsps://cam.example/live")).toBe(false);
    expect(proxyable("rtsp://cam.example:99999/live")).toBe(false);
    expect(proxyable("rtsp://ca m/live")).toBe(false);
    expect(proxyable("demo://clock")).toBe(false);
  });

  it("reads a password that is not valid percent-encoding as written (decodeURIComponent would throw)", () => {
    expect(proxyable("rtsp://u:p%zz@cam.example/live")).toBe(true);
    expect(rtspTarget("rtsp://u:p%zz@cam.example/live")?.creds).toEqual({ user: "u", password: "p%zz" });
    expect(rtspTarget("rtsp://u:p%40ss@[2001:db8::1]/live")).toMatchObject({
      host: "2001:db8::1",
      port: 554,
      requestUrl: "rtsp://[2001:db8::1]/live",
      creds: { user: "u", password: "p@ss" },
    });
    // URL percent-encodes the non-ASCII host of a scheme it does not know; the name looked up is the decoded one.
    expect(rtspTarget("rtsp://caméra.local/x")?.host).toBe("caméra.local");
  });
});

describe("proxiedUrl", () => {
  it("replaces only the host and port: credentials, path and query as written", () => {
    expect(proxiedUrl("rtsp://u:p%40ss@192.0.2.7:8554/Streaming/Channels/101?a=b c", 41000)).toBe(
      "rtsp://u:p%40ss@127.0.0.1:41000/Streaming/Channels/101?a=b c",
    );
    expect(proxiedUrl("rtsp://cam.example/$(touch x)", 9)).toBe("rtsp://127.0.0.1:9/$(touch x)");
    expect(proxiedUrl("rtsp://[2001:db8::1]:554/live", 9)).toBe("rtsp://127.0.0.1:9/live");
    expect(proxiedUrl("rtsp://a@b:c@host/x", 9)).toBe("rtsp://a@b:c@127.0.0.1:9/x");
  });
});
