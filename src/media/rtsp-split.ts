/**
 * Cuts one direction of an RTSP/1.0 TCP connection into its pieces: messages (a header block and a body of
 * Content-Length bytes) and interleaved frames (`$`, channel, 16-bit length, RTP or RTCP). Hard limits on what a
 * camera (or a client) may send; over them the stream is broken and the caller closes the connection.
 */

/** A message's header block and body at most (a camera's are a few kB): more is a broken or hostile peer. */
export const MAX_HEADER_BYTES = 16_384;
export const MAX_BODY_BYTES = 65_536;

export type RtspPiece =
  { kind: "frame"; channel: number; payload: Buffer; raw: Buffer } | { kind: "message"; head: string; body: Buffer; raw: Buffer };

/** The value of a header in a message's header block (the first, case-insensitive), if present. */
export function headerOf(head: string, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const line of head.split("\r\n").slice(1)) {
    const i = line.indexOf(":");
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === lower) return line.slice(i + 1).trim();
  }
  return undefined;
}

export class RtspSplitter {
  private buf: Buffer = Buffer.alloc(0);

  /**
   * Adds bytes; returns the whole pieces they complete, in order, or a reason when the stream is broken. The
   * pieces' buffers are views of the input: use them before the next push.
   */
  push(chunk: Buffer): RtspPiece[] | { broken: string } {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const pieces: RtspPiece[] = [];
    while (this.buf.length > 0) {
      if (this.buf[0] === 0x24) {
        if (this.buf.length < 4) break;
        const end = 4 + this.buf.readUInt16BE(2);
        if (this.buf.length < end) break;
        const raw = this.buf.subarray(0, end);
        pieces.push({ kind: "frame", channel: raw[1] ?? 0, payload: raw.subarray(4), raw });
        this.buf = this.buf.subarray(end);
        continue;
      }
      const headEnd = this.buf.indexOf("\r\n\r\n");
      if (headEnd === -1 ? this.buf.length > MAX_HEADER_BYTES : headEnd > MAX_HEADER_BYTES) {
        return { broken: `a message with over ${String(MAX_HEADER_BYTES)} bytes of headers` };
      }
      if (headEnd === -1) break;
      const head = this.buf.subarray(0, headEnd).toString("latin1");
      const lengthText = headerOf(head, "content-length") ?? "0";
      const length = Number(lengthText);
      if (!/^\d+$/.test(lengthText) || length > MAX_BODY_BYTES) {
        return { broken: `a message with a body of ${lengthText.slice(0, 20)} bytes (at most ${String(MAX_BODY_BYTES)})` };
      }
      if (this.buf.length < headEnd + 4 + length) break;
      const raw = this.buf.subarray(0, headEnd + 4 + length);
      pieces.push({ kind: "message", head, body: raw.subarray(headEnd + 4), raw });
      this.buf = this.buf.subarray(headEnd + 4 + length);
    }
    // What is left is kept as a copy: the caller's chunk may be reused.
    if (this.buf.length > 0 && this.buf.buffer === chunk.buffer) this.buf = Buffer.from(this.buf);
    return pieces;
  }
}
