import { randomInt } from "node:crypto";
import { errorMessage, type Logger } from "../../util/logger.ts";
import { rtspTarget, type RtspTarget } from "../../util/rtsp-url.ts";
import { FrameEncoder } from "../encode.ts";
import type { TalkbackOutput } from "../output.ts";
import { RtspConnection, RtspError, type RtspResponse } from "./rtsp.ts";
import { findBackchannel, type Backchannel } from "./sdp.ts";

export const REQUIRE = { Require: "www.onvif.org/ver20/backchannel" };
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 15_000;
/** Keepalive at least this often (GStreamer and most cameras time a session out after 60 s). */
const KEEPALIVE_MAX_MS = 20_000;

/** The camera URL split into where to connect, what to ask for (no credentials) and the credentials. */
export function target(url: string): RtspTarget {
  const t = rtspTarget(url);
  if (t === undefined) throw new Error("ONVIF talkback needs an rtsp:// camera URL");
  return t;
}

function ok(res: RtspResponse, what: string): void {
  if (res.status < 200 || res.status > 299) {
    const busy = res.status === 453 || res.status === 503 || res.status === 454;
    throw new RtspError(`the camera answered ${what} with ${res.status}${busy ? " (busy: another client may hold the backchannel)" : ""}`, {
      request: what,
      status: res.status,
      busy,
    });
  }
}

/**
 * The camera's ONVIF backchannel (Profile T): DESCRIBE with the backchannel Require header, SETUP of the sendonly
 * audio track interleaved on the RTSP TCP connection, PLAY, then one RTP packet of G.711 per 20 ms. A camera that
 * drops the connection or refuses (busy) is tried again (1 s, backing off to 15 s) for as long as calls go on; a
 * camera with no backchannel gets one log line and is left alone (the call is one way).
 */
export class OnvifOutput implements TalkbackOutput {
  private conn: RtspConnection | undefined;
  private playing: { track: Backchannel; channel: number; encoder: FrameEncoder; base: string; session: string } | undefined;
  private closed = false;
  private retryMs = RETRY_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  private lastProblem = "";
  private seq = randomInt(0, 0x10000);
  private timestamp = randomInt(0, 0x7fffffff);
  private readonly ssrc = randomInt(0, 0x7fffffff);
  private track: Backchannel | undefined;
  /** RTP packets sent and dropped (the camera not reading), for tests and !status. */
  readonly counts = { sent: 0, dropped: 0 };

  constructor(
    private readonly url: string,
    private readonly required: boolean,
    private readonly log: Logger,
  ) {
    void this.run();
  }

  get describe(): string {
    return this.track ? `onvif ${this.track.codec}/8000${this.playing ? "" : " (connecting)"}` : "onvif (connecting)";
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        const gone = await this.session();
        if (gone === "no-backchannel") return;
        this.retryMs = RETRY_MIN_MS;
      } catch (err: unknown) {
        this.problem(errorMessage(err));
      }
      if (this.ended()) return;
      await new Promise<void>((resolve) => {
        this.timer = setTimeout(resolve, this.retryMs);
      });
      this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    }
  }

  /** A method, not the field: the field is read after awaits, where close() may have run meanwhile. */
  private ended(): boolean {
    return this.closed;
  }

  /** Logs a problem once (again only when it changes): a camera that is away for an hour does not flood the log. */
  private problem(text: string): void {
    if (text === this.lastProblem) this.log.debug({ problem: text }, "talkback backchannel: still failing");
    else this.log.warn({ problem: text, retryInMs: this.retryMs }, "talkback backchannel: no connection to the camera's speaker; retrying");
    this.lastProblem = text;
  }

  /** One RTSP session from connect to close; resolves when the camera went away. */
  private async session(): Promise<"closed" | "no-backchannel"> {
    const t = target(this.url);
    const conn = await RtspConnection.open(t.host, t.port, t.creds);
    this.conn = conn;
    if (this.closed) conn.close();
    try {
      const described = await conn.request("DESCRIBE", t.requestUrl, { ...REQUIRE, Accept: "application/sdp" });
      if (described.status === 551 || described.status === 405)
        return this.noBackchannel(conn, `the camera does not know the backchannel (${described.status})`);
      ok(described, "DESCRIBE");
      const base = described.headers.get("content-base")?.[0] ?? t.requestUrl;
      const found = findBackchannel(described.body, base);
      if (!found.ok) return this.noBackchannel(conn, found.reason);
      const track = found.track;
      this.track = track;
      const setup = await conn.request("SETUP", track.control, { ...REQUIRE, Transport: "RTP/AVP/TCP;unicast;interleaved=0-1" });
      ok(setup, "SETUP");
      const sessionHeader = setup.headers.get("session")?.[0] ?? "";
      const session = sessionHeader.split(";")[0]?.trim() ?? "";
      if (session === "" || session.length > 256) throw new Error("the camera's SETUP answer has no usable Session");
      const timeout = Number(/timeout=(\d+)/.exec(sessionHeader)?.[1] ?? "60");
      const interleaved = /interleaved=(\d+)/.exec(setup.headers.get("transport")?.[0] ?? "");
      const channel = interleaved ? Number(interleaved[1]) : 0;
      ok(await conn.request("PLAY", base, { ...REQUIRE, Session: session, Range: "npt=0.000-" }), "PLAY");
      this.playing = { track, channel, encoder: new FrameEncoder(track.codec === "PCMU" ? "pcmu" : "pcma", 8000), base, session };
      if (this.lastProblem !== "") this.log.info("talkback backchannel: connected again");
      else this.log.info({ codec: track.codec }, "talkback backchannel: connected to the camera's speaker");
      this.lastProblem = "";
      this.retryMs = RETRY_MIN_MS;
      const every = Math.min(KEEPALIVE_MAX_MS, Math.max(1, timeout) * 500);
      const keepalive = setInterval(() => {
        conn.request("GET_PARAMETER", base, { ...REQUIRE, Session: session }).catch(() => undefined);
      }, every);
      const reason = await new Promise<string>((resolve) => conn.once("close", resolve));
      clearInterval(keepalive);
      if (!this.closed) this.problem(`the camera went away (${reason})`);
      return "closed";
    } finally {
      this.playing = undefined;
      conn.close();
    }
  }

  private noBackchannel(conn: RtspConnection, reason: string): "no-backchannel" {
    conn.close();
    if (this.required) this.log.warn({ reason }, "talkback: the camera has no usable ONVIF backchannel; the call goes on one way");
    else this.log.info({ reason }, "talkback (auto): the camera has no ONVIF backchannel; the call goes on one way");
    return "no-backchannel";
  }

  write(frame: Int16Array): void {
    const p = this.playing;
    const conn = this.conn;
    if (p === undefined || conn === undefined) return;
    const payload = p.encoder.encode(frame);
    const packet = Buffer.alloc(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = p.track.payloadType | (this.counts.sent === 0 ? 0x80 : 0);
    packet.writeUInt16BE(this.seq, 2);
    packet.writeUInt32BE(this.timestamp >>> 0, 4);
    packet.writeUInt32BE(this.ssrc, 8);
    packet.set(payload, 12);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + payload.length) % 0x100000000;
    if (conn.sendInterleaved(p.channel, packet)) this.counts.sent++;
    else this.counts.dropped++;
  }

  /** Ends the session with a TEARDOWN (a doorbell that takes one backchannel client is free at once), then closes. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const conn = this.conn;
    const p = this.playing;
    if (conn === undefined || p === undefined || conn.isClosed) {
      conn?.close();
      return;
    }
    const done = setTimeout(() => {
      conn.close();
    }, 1000);
    conn
      .request("TEARDOWN", p.base, { ...REQUIRE, Session: p.session })
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(done);
        conn.close();
      });
  }
}
