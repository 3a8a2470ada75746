/**
 * A loopback RTSP proxy per camera for the ffmpeg front end: ffmpeg reads `rtsp://…@127.0.0.1:<port>/<path>`, the
 * proxy passes every byte between it and the camera unchanged and adds an access unit delimiter after each video
 * frame (frame-end.ts), so ffmpeg hands the frame on one frame period sooner. Everything else stays ffmpeg's: the
 * RTSP client, its authentication (the credentials stay in ffmpeg's URL; the proxy neither reads nor logs a
 * request), the sound, the keep-alives.
 *
 * The listener is the camera's for the bot's life (unref'd), on 127.0.0.1 only, and opened before any run needs
 * it: ffmpeg may only be pointed at it once it listens, or it would reach whatever holds the port. Any local
 * process could connect, and would get what connecting to the camera gets it (the camera still asks for the
 * credentials); at most MAX_SESSIONS connections at once, each closed unless it sends a whole request within 5 s.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../util/logger.ts";
import { rtspTarget, type RtspTarget } from "../util/rtsp-url.ts";
import { FrameEnder } from "./frame-end.ts";
import { RtspSplitter } from "./rtsp-split.ts";

/** ffmpeg's session and, during a resync, its successor's; more is not ours. */
const MAX_SESSIONS = 4;
const CONNECT_TIMEOUT_MS = 10_000;
/** A connection that sends no request this soon is not ffmpeg's (it asks at once): closed, its place freed. */
const FIRST_REQUEST_MS = 5_000;
/** How long ffmpeg has to read the camera's last bytes after the camera closed, before its connection is cut. */
const CLOSE_FLUSH_MS = 5_000;

/** What the session of the current run saw, as it goes (for the restart policy and the stats; reset per run). */
export interface ProxySessionFacts {
  /** RTP packets of the video track from the camera. */
  readonly video: number;
  readonly delimiters: number;
  /** Why delimiters stopped for the session, or why the proxy broke it off. */
  readonly stopped: string | undefined;
  /** The proxy broke the session off (a peer sent what RTSP does not allow). */
  readonly broken: boolean;
  /** The camera said yes to ffmpeg's PLAY: its media should have followed. */
  readonly played: boolean;
  /** Bytes from the camera the proxy still held, not yet a whole message or frame (what a parsing fault looks like). */
  readonly held: boolean;
}

const REFUSED_REASON = "all its connections taken";
/** The facts of a run whose connection the proxy refused (all its places taken): the proxy kept ffmpeg out. */
const REFUSED: ProxySessionFacts = {
  video: 0,
  delimiters: 0,
  stopped: REFUSED_REASON,
  broken: true,
  played: false,
  held: false,
};

/**
 * Whether a camera URL can be read through the proxy: plain RTSP over TCP (rtsps is TLS end to end), and a URL the
 * proxy can read its host from (ffmpeg is laxer than URL: a port over 65535 or a raw `#` reaches it as it was).
 */
export function proxyable(url: string): boolean {
  return rtspTarget(url) !== undefined;
}

/**
 * The camera's URL as written but for its host and port (the last `@` ends the credentials, as for URL): ffmpeg
 * sends the path and query on to the camera exactly as configured, not as a URL parser would re-encode them.
 */
export function proxiedUrl(url: string, port: number): string {
  return url.replace(/^(rtsp:\/\/(?:[^/?#]*@)?)(?:\[[^\]]*\]|[^:/?#]*)(?::\d*)?/i, `$1127.0.0.1:${String(port)}`);
}

export class FrameEndProxy {
  private readonly server: Server;
  private readonly sessions = new Set<Socket>();
  private readonly target: RtspTarget;
  private port: number | undefined;
  /** Settles once the proxy listens, or cannot (then ffmpeg reads the camera directly). */
  readonly listening: Promise<void>;
  last: ProxySessionFacts | undefined;
  private readonly warned = new Set<string>();
  /** Why a session of this camera stopped writing delimiters (B-frames, markers that do not end frames). */
  private stoppedFor: string | undefined;

  constructor(
    private readonly cameraUrl: string,
    private readonly log: Logger,
  ) {
    const target = rtspTarget(cameraUrl);
    if (target === undefined) throw new Error("the frame-end proxy needs an rtsp:// camera URL (see proxyable)");
    this.target = target;
    this.server = createServer((client) => {
      this.accept(client);
    });
    this.listening = new Promise((resolve) => {
      this.server.on("error", (err) => {
        this.log.warn({ err: err.message }, "frame-end proxy: cannot listen; ffmpeg reads the camera directly");
        resolve();
      });
      this.server.listen(0, "127.0.0.1", () => {
        const address = this.server.address();
        if (address !== null && typeof address === "object") this.port = address.port;
        resolve();
      });
    });
    this.server.unref();
  }

  /** The URL ffmpeg reads (the camera's, with the proxy for host), once the proxy listens. */
  url(): string | undefined {
    return this.port === undefined ? undefined : proxiedUrl(this.cameraUrl, this.port);
  }

  close(): void {
    this.server.close();
    for (const s of this.sessions) s.destroy();
  }

  private accept(client: Socket): void {
    if (this.sessions.size >= MAX_SESSIONS) {
      // Blames the proxy for the run unless the run's own session had begun (then a stranger was kept out).
      this.last ??= REFUSED;
      this.once(REFUSED_REASON);
      client.destroy();
      return;
    }
    this.sessions.add(client);
    // Out of the count once it is closed (after a flush too), not when the proxy decides to close it.
    client.on("close", () => this.sessions.delete(client));
    const camera = connect({ host: this.target.host, port: this.target.port });
    client.setNoDelay(true);
    camera.setNoDelay(true);
    camera.setTimeout(CONNECT_TIMEOUT_MS, () => camera.destroy());
    camera.once("connect", () => camera.setTimeout(0));
    const fromClient = new RtspSplitter();
    const fromCamera = new RtspSplitter();
    const ender = new FrameEnder(this.stoppedFor);
    let broken: string | undefined;
    const facts: ProxySessionFacts = {
      get video() {
        return ender.counts.video;
      },
      get delimiters() {
        return ender.counts.delimiters;
      },
      get stopped() {
        return broken ?? ender.stopped;
      },
      get broken() {
        return broken !== undefined;
      },
      get played() {
        return ender.playing;
      },
      get held() {
        return fromCamera.pending > 0;
      },
    };
    /** `flush`: the camera closed its end cleanly, so ffmpeg gets what it last sent (its last answer) before ours. */
    const end = (flush = false): void => {
      this.stoppedFor ??= ender.stopped;
      const why = broken ?? ender.stopped;
      if (why !== undefined) this.once(why);
      camera.destroy();
      if (!flush || client.destroyed) {
        client.destroy();
        return;
      }
      client.end();
      setTimeout(() => client.destroy(), CLOSE_FLUSH_MS).unref();
    };
    let asked = false;
    client.setTimeout(FIRST_REQUEST_MS, () => {
      end();
    });
    client.on("data", (chunk: Buffer) => {
      const got = fromClient.push(chunk);
      if ("broken" in got) {
        broken = `ffmpeg sent ${got.broken}`;
        end();
        return;
      }
      for (const p of got.pieces) {
        if (p.kind !== "message") continue;
        ender.request(p.head);
        if (asked) continue;
        // The session of the run from its first whole request on (a connection that never asks is nobody's run).
        asked = true;
        client.setTimeout(0);
        this.last = facts;
      }
      if (!camera.write(chunk)) client.pause();
    });
    camera.on("data", (chunk: Buffer) => {
      const got = fromCamera.push(chunk);
      if ("broken" in got) {
        broken = `the camera sent ${got.broken}`;
        end();
        return;
      }
      // What came, in views of it: a delimiter goes right after its frame's last packet, before what follows it.
      let ok = true;
      let from = 0;
      let at = 0;
      for (const p of got.pieces) {
        at += p.raw.length;
        if (p.kind === "message") {
          ender.response(p.head, p.body);
          continue;
        }
        const delimiter = ender.frame(p.channel, p.payload);
        if (delimiter === undefined) continue;
        ok = client.write(got.bytes.subarray(from, at)) && ok;
        ok = client.write(delimiter) && ok;
        from = at;
      }
      if (from < got.bytes.length) ok = client.write(got.bytes.subarray(from)) && ok;
      if (!ok) camera.pause();
    });
    client.on("drain", () => camera.resume());
    camera.on("drain", () => client.resume());
    client.on("close", () => {
      end();
    });
    camera.on("close", (hadError) => {
      end(!hadError && broken === undefined);
    });
    client.on("error", () => {
      end();
    });
    camera.on("error", () => {
      end();
    });
  }

  /** One info line per reason and camera: a camera whose frames cannot be ended says so once, not every run. */
  private once(reason: string): void {
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    this.log.info({ reason }, "frame-end proxy: frames not ended early for this camera");
  }
}
