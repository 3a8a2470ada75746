/**
 * A small RTSP/1.0 client connection for the ONVIF backchannel: requests one at a time, answers parsed with hard
 * limits (media/rtsp-split.ts, shared with the frame-end proxy), interleaved ($) frames from the camera read and
 * dropped, RTP sent interleaved on the same TCP connection.
 * Why not a library: the npm RTSP clients found (e.g. yellowstone) are for receiving, unmaintained for years, and
 * none sends on a backchannel; what is needed here is about 150 lines.
 */
import { EventEmitter } from "node:events";
import { connect, type Socket } from "node:net";
import { authorize, type Credentials } from "./auth.ts";
import { AppError } from "../../util/errors.ts";
import { headLines, RtspSplitter } from "../../media/rtsp-split.ts";

export interface RtspResponse {
  status: number;
  headers: Map<string, string[]>;
  body: string;
}

/** Outgoing bytes queued at most before RTP is dropped (the camera is not reading: no growing memory). */
const MAX_QUEUED = 64_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** What went wrong on the camera's RTSP connection; `status` when the camera answered with one. */
export class RtspError extends AppError {}

export class RtspConnection extends EventEmitter<{ close: [reason: string] }> {
  private readonly splitter = new RtspSplitter();
  private cseq = 0;
  private nc = 0;
  private challenges: string[] | undefined;
  private pending: { cseq: number; resolve: (r: RtspResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Interleaved frames the camera sent us (its media on channels we did not ask for are dropped too). */
  framesIn = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly creds: Credentials | undefined,
  ) {
    super();
    socket.on("data", (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on("error", (err) => {
      this.fail(`connection error: ${err.message}`);
    });
    socket.on("close", () => {
      this.fail("the camera closed the connection");
    });
  }

  static open(host: string, port: number, creds: Credentials | undefined, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RtspConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RtspError(`no connection to the camera within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(new RtspError(`cannot connect to the camera: ${err.message}`));
      });
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(new RtspConnection(socket, creds));
      });
    });
  }

  /** Sends a request and resolves with its answer; a 401 is answered once with the credentials. Requests queue. */
  request(method: string, url: string, headers: Record<string, string> = {}): Promise<RtspResponse> {
    const run = this.chain.then(async () => {
      let res = await this.send(method, url, headers);
      if (res.status === 401 && this.creds !== undefined) {
        this.challenges = res.headers.get("www-authenticate") ?? [];
        res = await this.send(method, url, headers);
      }
      return res;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private send(method: string, url: string, headers: Record<string, string>): Promise<RtspResponse> {
    if (this.closed) return Promise.reject(new RtspError("the connection is closed"));
    const cseq = ++this.cseq;
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${cseq}`, "User-Agent: matrix-camera-call"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (this.challenges !== undefined && this.creds !== undefined) {
      const auth = authorize(this.challenges, this.creds, method, url, ++this.nc);
      if (auth !== undefined) lines.push(`Authorization: ${auth}`);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(`no answer to ${method} within ${REQUEST_TIMEOUT_MS} ms`);
      }, REQUEST_TIMEOUT_MS);
      this.pending = { cseq, resolve, reject, timer };
      this.socket.write(lines.join("\r\n") + "\r\n\r\n");
    });
  }

  /** One RTP packet on an interleaved channel; false when dropped because the camera is not reading. */
  sendInterleaved(channel: number, packet: Uint8Array): boolean {
    if (this.closed || this.socket.writableLength > MAX_QUEUED) return false;
    const head = Buffer.alloc(4);
    head[0] = 0x24;
    head[1] = channel;
    head.writeUInt16BE(packet.length, 2);
    this.socket.write(Buffer.concat([head, packet]));
    return true;
  }

  close(): void {
    this.fail("closed by us");
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A method: fail() inside the parse loop changes the field behind the type checker's narrowing. */
  private ended(): boolean {
    return this.closed;
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(new RtspError(reason));
    }
    this.emit("close", reason);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const got = this.splitter.push(chunk);
    if ("broken" in got) {
      this.fail(`the camera sent ${got.broken}`);
      return;
    }
    for (const piece of got.pieces) {
      if (this.ended()) return;
      if (piece.kind === "frame") {
        this.framesIn++;
        continue;
      }
      const lines = headLines(piece.head);
      const status = /^RTSP\/1\.0 (\d{3})\b/.exec(lines[0] ?? "");
      if (!status) {
        this.fail(`the camera's answer is not RTSP: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
        return;
      }
      const headers = new Map<string, string[]>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(":");
        if (i <= 0) continue;
        const key = line.slice(0, i).trim().toLowerCase();
        headers.set(key, [...(headers.get(key) ?? []), line.slice(i + 1).trim()]);
      }
      const p = this.pending;
      if (p && Number(headers.get("cseq")?.[0]) === p.cseq) {
        this.pending = undefined;
        clearTimeout(p.timer);
        p.resolve({ status: Number(status[1]), headers, body: piece.body.toString("utf8") });
      }
    }
  }
}
