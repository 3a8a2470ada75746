/**
 * Cuts one direction of an RTSP/1.0 TCP connection into its pieces: messages (a header block and a body of
 * Content-Length bytes) and interleaved frames (`$`, channel, 16-bit length, RTP or RTCP). Lines may end in CRLF or
 * a bare LF (RFC 2326 §4 allows both; ffmpeg reads both). Hard limits on what a camera (or a client) may send; over
 * them the stream is broken and the caller closes the connection. Used by the frame-end proxy and the talkback's
 * RTSP connection.
 */

/** A message's header block and body at most (a camera's are a few kB): more is a broken or hostile peer. */
export const MAX_HEADER_BYTES = 16_384;
export const MAX_BODY_BYTES = 65_536;

export type RtspPiece =
  { kind: "frame"; channel: number; payload: Buffer; raw: Buffer } | { kind: "message"; head: string; body: Buffer; raw: Buffer };

/** The whole pieces one push completed, and `bytes`: all of them as they came, one view (no copy). */
export interface RtspPieces {
  pieces: RtspPiece[];
  bytes: Buffer;
}

/** The lines of a header block (request or status line first). */
export function headLines(head: string): string[] {
  return head.split(/\r?\n/);
}

/** The value of a header in a message's header block (the first, case-insensitive), if present. */
export function headerOf(head: string, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const line of headLines(head).slice(1)) {
    const i = line.indexOf(":");
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === lower) return line.slice(i + 1).trim();
  }
  return undefined;
}

const HEAD_END = /\r?\n\r?\n/;
const EMPTY = Buffer.alloc(0);

export class RtspSplitter {
  private buf: Buffer = EMPTY;
  /** Chunks not yet joined to `buf`, and their bytes: joined once the piece they complete can be whole. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** Bytes the piece at the start of `buf` needs in all, once known (a frame's or a message's length). */
  private need = 0;

  /** Bytes taken but not yet returned in a whole piece. */
  get pending(): number {
    return this.buf.length + this.waitingBytes;
  }

  /**
   * Adds bytes; returns the whole pieces they complete, in order, or a reason when the stream is broken. The
   * buffers are views of the input: use them before the next push.
   */
  push(chunk: Buffer): RtspPieces | { broken: string } {
    // A frame or a body fed in small chunks is joined once, when it can be whole, not at every chunk.
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    if (this.buf.length + this.waitingBytes < this.need) return { pieces: [], bytes: EMPTY };
    this.buf = this.buf.length === 0 && this.waiting.length === 1 ? chunk : Buffer.concat([this.buf, ...this.waiting]);
    this.waiting = [];
    this.waitingBytes = 0;
    this.need = 0;
    const pieces: RtspPiece[] = [];
    let at = 0;
    while (at < this.buf.length) {
      const rest = this.buf.subarray(at);
      if (rest[0] === 0x24) {
        if (rest.length < 4) break;
        const end = 4 + rest.readUInt16BE(2);
        if (rest.length < end) {
          this.need = end;
          break;
        }
        const raw = rest.subarray(0, end);
        pieces.push({ kind: "frame", channel: raw[1] ?? 0, payload: raw.subarray(4), raw });
        at += end;
        continue;
      }
      const m = HEAD_END.exec(rest.subarray(0, MAX_HEADER_BYTES + 4).toString("latin1"));
      if (m === null ? rest.length > MAX_HEADER_BYTES : m.index > MAX_HEADER_BYTES) {
        return { broken: `a message with over ${String(MAX_HEADER_BYTES)} bytes of headers` };
      }
      if (m === null) break;
      const head = rest.subarray(0, m.index).toString("latin1");
      const lengthText = headerOf(head, "content-length") ?? "0";
      const length = Number(lengthText);
      if (!/^\d+$/.test(lengthText) || length > MAX_BODY_BYTES) {
        return { broken: `a message with a body of ${lengthText.slice(0, 20)} bytes (at most ${String(MAX_BODY_BYTES)})` };
      }
      const end = m.index + m[0].length + length;
      if (rest.length < end) {
        this.need = end;
        break;
      }
      const raw = rest.subarray(0, end);
      pieces.push({ kind: "message", head, body: raw.subarray(m.index + m[0].length), raw });
      at += end;
    }
    const bytes = this.buf.subarray(0, at);
    // What is left is kept as a copy: the caller's chunk is not ours to hold.
    this.buf = at < this.buf.length ? Buffer.from(this.buf.subarray(at)) : EMPTY;
    return { pieces, bytes };
  }
}
