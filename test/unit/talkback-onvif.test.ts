import { createServer, type Server, type Socket } from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { authorize } from "../../src/talkback/onvif/auth.ts";
import { OnvifOutput } from "../../src/talkback/onvif/backchannel.ts";
import { RtspConnection } from "../../src/talkback/onvif/rtsp.ts";
import { findBackchannel } from "../../src/talkback/onvif/sdp.ts";
import { waitFor } from "../harness/wait.ts";

const GST_SDP = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=Session streamed with GStreamer",
  "t=0 0",
  "a=control:*",
  "m=video 0 RTP/AVP 96",
  "a=rtpmap:96 H264/90000",
  "a=control:stream=0",
  "m=audio 0 RTP/AVP 8",
  "a=rtpmap:8 PCMA/8000",
  "a=control:stream=1",
  "a=recvonly",
  "m=audio 0 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "a=control:stream=2",
  "a=sendonly",
  "",
].join("\r\n");

describe("findBackchannel", () => {
  it("takes the sendonly G.711 audio track and resolves its control against the base", () => {
    expect(findBackchannel(GST_SDP, "rtsp://10.0.0.2:554/cam/")).toEqual({
      ok: true,
      track: { control: "rtsp://10.0.0.2:554/cam/stream=2", codec: "PCMU", payloadType: 0, clockRate: 8000 },
    });
    const pcma = GST_SDP.replace("m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", "m=audio 0 RTP/AVP 8");
    expect(findBackchannel(pcma, "rtsp://h/cam")).toMatchObject({
      ok: true,
      track: { control: "rtsp://h/cam/stream=2", codec: "PCMA", payloadType: 8 },
    });
  });

  it("says why when there is nothing usable", () => {
    expect(findBackchannel(GST_SDP.replace("a=sendonly", "a=recvonly"), "rtsp://h/")).toEqual({
      ok: false,
      reason: expect.stringMatching(/no ONVIF backchannel/) as unknown,
    });
    expect(
      findBackchannel(GST_SDP.replace("RTP/AVP 0\r\na=rtpmap:0 PCMU/8000", "RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000"), "rtsp://h/"),
    ).toEqual({ ok: false, reason: expect.stringMatching(/no G\.711/) as unknown });
    expect(findBackchannel("x".repeat(40_000), "rtsp://h/")).toEqual({
      ok: false,
      reason: expect.stringMatching(/40000 bytes/) as unknown,
    });
    expect(findBackchannel("garbage\r\nm=audio nonsense\r\na=sendonly", "rtsp://h/").ok).toBe(false);
  });
});

describe("authorize", () => {
  it("answers a Digest challenge as RFC 2617 computes it (no qop), and Basic", () => {
    const h = authorize(
      ['Digest realm="GStreamer RTSP Server", nonce="abc123"'],
      { user: "admin", password: "pw" },
      "DESCRIBE",
      "rtsp://h/cam",
      1,
    );
    // md5(md5("admin:GStreamer RTSP Server:pw"):abc123:md5("DESCRIBE:rtsp://h/cam")), computed with Python's hashlib.
    expect(h).toBe(
      'Digest username="admin", realm="GStreamer RTSP Server", nonce="abc123", uri="rtsp://h/cam", response="8a42f645e3f70d91a3c7efa5f28c9f72"',
    );
    expect(authorize(['Basic realm="x"'], { user: "a", password: "b" }, "DESCRIBE", "u", 1)).toBe(
      `Basic ${Buffer.from("a:b").toString("base64")}`,
    );
    expect(authorize(['Digest realm="x", nonce="n", algorithm=SHA-256'], { user: "a", password: "b" }, "DESCRIBE", "u", 1)).toBeUndefined();
  });
});

/** A hostile "camera": answers every connection with `answer`. */
let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(() => {
  for (const s of sockets) s.destroy();
  server?.close();
  server = undefined;
});
function hostile(answer: (socket: Socket) => void): Promise<number> {
  return new Promise((resolve) => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.once("data", () => {
        answer(socket);
      });
    });
    server.listen(0, "127.0.0.1", () => {
      const addr = server?.address();
      resolve(typeof addr === "object" && addr !== null ? addr.port : 0);
    });
  });
}

describe("RtspConnection against hostile answers", () => {
  const cases: [string, (s: Socket) => void, RegExp][] = [
    [
      "a body of 10 MB announced",
      (s) => s.write("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 10000000\r\n\r\n"),
      /body of 10000000 bytes/,
    ],
    ["endless headers", (s) => s.write("RTSP/1.0 200 OK\r\n" + "X-A: b\r\n".repeat(5000)), /headers/],
    ["not RTSP", (s) => s.write("HTTP/1.1 200 OK\r\n\r\n"), /not RTSP/],
    ["a flood of interleaved frames and garbage", (s) => s.write(Buffer.alloc(300_000, 0x41)), /neither an RTSP answer|headers/],
  ];
  for (const [name, answer, reason] of cases) {
    it(`${name}: a clear error, no crash`, async () => {
      const port = await hostile(answer);
      const conn = await RtspConnection.open("127.0.0.1", port, undefined);
      await expect(conn.request("DESCRIBE", `rtsp://127.0.0.1:${port}/cam`)).rejects.toThrow(reason);
      expect(conn.isClosed).toBe(true);
    });
  }

  it("reads an answer with bare-LF lines and a body that comes in pieces", async () => {
    const port = await hostile((s) => {
      s.write("RTSP/1.0 200 OK\nCSeq: 1\nContent-Length: 7\n\nv=0");
      setImmediate(() => s.write("\no=\n"));
    });
    const conn = await RtspConnection.open("127.0.0.1", port, undefined);
    const res = await conn.request("DESCRIBE", `rtsp://127.0.0.1:${port}/cam`);
    expect(res).toMatchObject({ status: 200, body: "v=0\no=\n" });
    conn.close();
  });

  it("the backchannel output logs the hostile camera once and keeps retrying without growing", async () => {
    let connections = 0;
    const port = await hostile((s) => {
      connections++;
      s.write("RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 99999999\r\n\r\n");
    });
    const lines: string[] = [];
    const log = pino({ level: "debug" }, { write: (l: string) => lines.push(l) });
    const out = new OnvifOutput(`rtsp://u:secret-pw@127.0.0.1:${port}/cam`, true, log);
    await waitFor("two attempts", () => connections >= 2, { timeoutMs: 10_000 });
    out.write(new Int16Array(960));
    out.close();
    const warns = lines.filter((l) => l.includes('"level":40'));
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(/body of 99999999 bytes/);
    expect(lines.join("")).not.toContain("secret-pw");
  });
});
