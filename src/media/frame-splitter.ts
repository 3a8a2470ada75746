/**
 * Cuts a byte stream (ffmpeg's raw output pipe) into fixed-size frames with one preallocated buffer.
 *
 * - A frame that lies whole inside a chunk is handed on as a view of that chunk: no copy. With `ownBuffer`, every
 *   frame is copied into the splitter's buffer instead: the camera's video pipe is read into one reused buffer
 *   (pipe-reader.ts), and wrtc's onFrame takes a frame's whole ArrayBuffer, which must be exactly the frame.
 * - A frame split across chunks is assembled in the preallocated buffer (its own ArrayBuffer): one copy.
 * - With `latestOnly`, when several whole frames arrive at once (the consumer fell behind), only the
 *   newest is handed on and the rest are counted as dropped, so latency never builds up.
 *
 * The frame passed to `onFrame` is only valid during the call: consumers copy what they keep
 * (wrtc's `onFrame` copies synchronously).
 */
export class FrameSplitter {
  private readonly buffer: Buffer;
  private filled = 0;
  /** Frames handed on. */
  emitted = 0;
  /** Frames skipped because newer ones were already there. */
  dropped = 0;

  constructor(
    readonly frameSize: number,
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly latestOnly: boolean,
    private readonly ownBuffer = false,
  ) {
    if (!Number.isInteger(frameSize) || frameSize <= 0) throw new RangeError(`frame size must be a positive integer, got ${frameSize}`);
    // Buffer.alloc never takes a slice of Node's shared pool: the frame's ArrayBuffer is the frame.
    this.buffer = Buffer.alloc(frameSize);
  }

  push(chunk: Buffer): void {
    if (this.latestOnly) this.pushLatest(chunk);
    else this.pushAll(chunk);
  }

  /** Forget a partial frame (after the source restarted). */
  reset(): void {
    this.filled = 0;
  }

  private emit(frame: Uint8Array): void {
    this.emitted++;
    this.onFrame(frame);
  }

  private pushAll(chunk: Buffer): void {
    const size = this.frameSize;
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.ownBuffer && this.filled === 0 && chunk.length - offset >= size) {
        this.emit(chunk.subarray(offset, offset + size));
        offset += size;
        continue;
      }
      const n = Math.min(size - this.filled, chunk.length - offset);
      chunk.copy(this.buffer, this.filled, offset, offset + n);
      this.filled += n;
      offset += n;
      if (this.filled === size) {
        this.filled = 0;
        this.emit(this.buffer);
      }
    }
  }

  private pushLatest(chunk: Buffer): void {
    const size = this.frameSize;
    const complete = Math.floor((this.filled + chunk.length) / size);
    if (complete === 0) {
      chunk.copy(this.buffer, this.filled);
      this.filled += chunk.length;
      return;
    }
    this.dropped += complete - 1;
    // In chunk coordinates: where the newest complete frame ends and starts.
    const end = complete * size - this.filled;
    const start = end - size;
    if (start >= 0 && !this.ownBuffer) {
      this.emit(chunk.subarray(start, end));
    } else if (start >= 0) {
      chunk.copy(this.buffer, 0, start, end);
      this.emit(this.buffer);
    } else {
      chunk.copy(this.buffer, this.filled, 0, end);
      this.emit(this.buffer);
    }
    const rest = chunk.length - end;
    if (rest > 0) chunk.copy(this.buffer, 0, end);
    this.filled = rest;
  }
}
