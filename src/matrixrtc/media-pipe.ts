/**
 * The camera's media from the bot to its LiveKit process: each I420 frame and PCM chunk as one record, a 20-byte
 * header and the bytes. Framing is this file's only job; the bot writes records (MediaWriter), the child reads
 * them (MediaReader) and hands each to the calls on the stream it names (a camera as the process is fed it, shared
 * by all its calls there: camera-streams.ts).
 *
 * Header (little-endian): payload length u32, stream id u32, kind u8 (1 video, 2 audio), channels u8, 2 unused,
 * then width and height (video) or sample rate and samples per channel (audio), u32 each.
 */
import type { Writable } from "node:stream";
import type { I420Frame, PcmChunk } from "../media/camera-media.ts";

const HEADER = 20;
const VIDEO = 1;
const AUDIO = 2;
/** Nothing the bot sends is larger than a 4K I420 frame (12.4 MB): a longer record is a broken stream. */
const MAX_PAYLOAD = 16 * 1024 * 1024;

export type MediaRecord = { stream: number; kind: "video"; frame: I420Frame } | { stream: number; kind: "audio"; chunk: PcmChunk };

function record(out: Buffer, kind: number, stream: number, channels: number, a: number, b: number, bytes: Uint8Array): Buffer {
  out.writeUInt32LE(bytes.byteLength, 0);
  out.writeUInt32LE(stream, 4);
  out.writeUInt8(kind, 8);
  out.writeUInt8(channels, 9);
  out.writeUInt16LE(0, 10);
  out.writeUInt32LE(a, 12);
  out.writeUInt32LE(b, 16);
  // A copy: the camera pipeline reuses its frame and sample buffers once the tap's handler returns.
  out.set(bytes, HEADER);
  return out;
}

export class MediaWriter {
  /** Buffers whose write has completed, by size: a 720p call sends 25 frames of 1.4 MB a second, each a new mmap otherwise. */
  private readonly free = new Map<number, Buffer[]>();
  /** Streams with a frame still on its way (written, not yet handed to the kernel). */
  private readonly framesQueued = new Set<number>();

  constructor(private readonly out: Writable) {}

  /**
   * Sends a frame of `stream` unless its last frame is still queued (the LiveKit process is behind): then it is
   * dropped and false returned, so a slow child costs frames, never memory or delay. Per stream: with two cameras in
   * one process, a check on the whole pipe's backlog would starve the second (as it starved the second of two calls
   * when each call was a stream of its own: 5 frames in 20 s, bench matrixrtc 2026-12-04).
   */
  video(stream: number, frame: I420Frame): boolean {
    if (this.framesQueued.has(stream) || this.out.writableLength >= MAX_PAYLOAD || !this.out.writable) return false;
    this.framesQueued.add(stream);
    this.send(record(this.take(HEADER + frame.data.byteLength), VIDEO, stream, 0, frame.width, frame.height, frame.data), () => {
      this.framesQueued.delete(stream);
    });
    return true;
  }

  /** Sends a PCM chunk; dropped (false) when the pipe's backlog is larger than any frame. */
  audio(stream: number, chunk: PcmChunk): boolean {
    if (this.out.writableLength >= MAX_PAYLOAD || !this.out.writable) return false;
    const bytes = new Uint8Array(chunk.samples.buffer, chunk.samples.byteOffset, chunk.samples.byteLength);
    this.send(record(this.take(HEADER + bytes.byteLength), AUDIO, stream, chunk.channelCount, chunk.sampleRate, chunk.frames, bytes));
    return true;
  }

  private take(size: number): Buffer {
    return this.free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
  }

  /** Writes `buf`; once written it is free for the next record of its size (a few kept a size). */
  private send(buf: Buffer, written?: () => void): void {
    this.out.write(buf, () => {
      written?.();
      let list = this.free.get(buf.length);
      if (list === undefined) {
        if (this.free.size >= 8) this.free.clear();
        list = [];
        this.free.set(buf.length, list);
      }
      if (list.length < 4) list.push(buf);
    });
  }
}

/**
 * Reassembles records from the pipe's chunks. A record's bytes are valid only while onRecord runs: the next record
 * of the same size reuses them (rtc-node copies a frame in captureFrame, LiveKitAudio copies its samples). A new
 * 1.4 MB buffer for every 720p frame cost the LiveKit process its RSS in garbage between collections: 1.8 MB more a
 * call in the MatrixRTC soak, which made the host replace it early.
 */
export class MediaReader {
  private header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private payload: Buffer | undefined;
  private payloadFill = 0;

  constructor(private readonly onRecord: (r: MediaRecord) => void) {}

  /** Takes the next chunk of the pipe; throws on a record no writer makes (the stream is then unusable). */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.payload === undefined) {
        const n = Math.min(HEADER - this.headerFill, chunk.length - at);
        chunk.copy(this.header, this.headerFill, at, at + n);
        this.headerFill += n;
        at += n;
        if (this.headerFill < HEADER) return;
        const length = this.header.readUInt32LE(0);
        if (length > MAX_PAYLOAD) throw new Error(`media record of ${String(length)} bytes`);
        this.payload = this.buffer(length);
        this.payloadFill = 0;
      }
      const n = Math.min(this.payload.length - this.payloadFill, chunk.length - at);
      chunk.copy(this.payload, this.payloadFill, at, at + n);
      this.payloadFill += n;
      at += n;
      if (this.payloadFill < this.payload.length) return;
      this.deliver(this.payload);
      this.payload = undefined;
      this.headerFill = 0;
    }
  }

  private readonly buffers = new Map<number, Buffer>();

  /** One buffer a size (a camera's frames, its audio chunks); a few sizes at most, as calls switch cameras. */
  private buffer(length: number): Buffer {
    let b = this.buffers.get(length);
    if (b === undefined) {
      if (this.buffers.size >= 8) this.buffers.clear();
      b = Buffer.allocUnsafeSlow(length);
      this.buffers.set(length, b);
    }
    return b;
  }

  private deliver(bytes: Buffer): void {
    const h = this.header;
    const stream = h.readUInt32LE(4);
    const kind = h.readUInt8(8);
    const a = h.readUInt32LE(12);
    const b = h.readUInt32LE(16);
    if (kind === VIDEO) {
      if (bytes.length !== a * b + 2 * Math.ceil(a / 2) * Math.ceil(b / 2))
        throw new Error(`video record of ${String(bytes.length)} bytes for ${String(a)}x${String(b)}`);
      this.onRecord({ stream, kind: "video", frame: { width: a, height: b, data: bytes } });
    } else if (kind === AUDIO) {
      const channelCount = h.readUInt8(9);
      if (bytes.length % 2 !== 0 || bytes.length / 2 !== b * channelCount) throw new Error(`audio record of ${String(bytes.length)} bytes`);
      // A buffer of its own (allocUnsafeSlow) starts at offset 0: aligned for Int16Array.
      const samples = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
      this.onRecord({ stream, kind: "audio", chunk: { samples, sampleRate: a, channelCount, frames: b } });
    } else {
      throw new Error(`media record of kind ${String(kind)}`);
    }
  }
}
