/**
 * The pipelines measured besides the bot:
 * - the reference of call-assist: one ffmpeg per call, `ffmpeg -i <rtsp> -pix_fmt yuv420p -s 640x480 -r 10 -an -f
 *   rawvideo pipe:1` (no low-latency flags), every frame into an RTCVideoSource, one peer connection to the receiver;
 * - the decode floor: our camera ffmpeg (buildCameraArgs) with its pipes drained here, the stamp read at its output;
 * - the encode floor: an RTCVideoSource fed synthetic stamped I420 frames, into k peer connections to the receiver.
 */
import { pino } from "pino";
import { buildCameraArgs, AUDIO_CHUNK_BYTES } from "../src/media/ffmpeg-args.ts";
import { FfmpegProcess } from "../src/media/ffmpeg-process.ts";
import { FrameSplitter } from "../src/media/frame-splitter.ts";
import { newCameraVideoSource, nonstandard } from "../src/rtc/wrtc.ts";
import { openPlainLink, type PlainLink } from "./plain-link.ts";
import type { ReceiverClient } from "./receiver-client.ts";
import { nowMs, readStamp, writeStamp } from "./stamp.ts";

const quiet = pino({ level: "silent" });

export const REFERENCE = { width: 640, height: 480, fps: 10 } as const;

export function referenceArgs(url: string): string[] {
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    "-i",
    url,
    "-pix_fmt",
    "yuv420p",
    "-s",
    `${REFERENCE.width}x${REFERENCE.height}`,
    "-r",
    String(REFERENCE.fps),
    "-an",
    "-f",
    "rawvideo",
    "pipe:1",
  ];
}

export interface ReferenceCall {
  link: PlainLink;
  pid: number | undefined;
  /** Frames ffmpeg delivered so far, and its last stderr lines (diagnostics). */
  frames(): number;
  lastLines: string[];
  stop(): Promise<void>;
}

/** One call of the reference: its own ffmpeg, its own RTCVideoSource, its own peer connection. */
export async function startReferenceCall(ffmpegPath: string, url: string, receiver: ReceiverClient): Promise<ReferenceCall> {
  const source = new nonstandard.RTCVideoSource();
  const track = source.createTrack();
  const proc = new FfmpegProcess(ffmpegPath, referenceArgs(url), quiet, 0);
  const frame: { width: number; height: number; data: Uint8Array } = {
    width: REFERENCE.width,
    height: REFERENCE.height,
    data: new Uint8Array(0),
  };
  const splitter = new FrameSplitter(
    (REFERENCE.width * REFERENCE.height * 3) / 2,
    (data) => {
      frame.data = data;
      source.onFrame(frame);
    },
    false,
  );
  const lastLines: string[] = [];
  proc.on("line", (line) => {
    lastLines.push(line);
    if (lastLines.length > 10) lastLines.shift();
  });
  const pipes = proc.start();
  pipes.video.on("data", (chunk: Buffer) => {
    splitter.push(chunk);
  });
  let link: PlainLink;
  try {
    link = await openPlainLink(receiver, track, "ref");
  } catch (err: unknown) {
    await proc.stop();
    track.stop();
    throw err;
  }
  return {
    link,
    pid: proc.pid,
    frames: () => splitter.emitted,
    lastLines,
    async stop() {
      link.close();
      await proc.stop();
      track.stop();
    },
  };
}

export interface DecodeFloorRun {
  pid: number | undefined;
  /** now − stamp at ffmpeg's output (after the pipe and the frame splitter), ms; NaN for a misread. */
  latencies: number[];
  /** Arrival times of those frames. */
  at: number[];
  stop(): Promise<void>;
}

/** Our camera ffmpeg alone: the command the bot runs, video and audio pipes drained, stamps read at its output. */
export function startDecodeFloor(ffmpegPath: string, url: string, size: { width: number; height: number; fps: number }): DecodeFloorRun {
  const args = buildCameraArgs({ url, maxWidth: size.width, maxHeight: size.height, maxFps: size.fps, audio: true });
  const proc = new FfmpegProcess(ffmpegPath, args, quiet);
  const latencies: number[] = [];
  const at: number[] = [];
  const frame: { width: number; height: number; data: Uint8Array } = { width: size.width, height: size.height, data: new Uint8Array(0) };
  const splitter = new FrameSplitter(
    (size.width * size.height * 3) / 2,
    (data) => {
      frame.data = data;
      const t = nowMs();
      const stamp = readStamp(frame);
      if (at.length < 1_000_000) {
        at.push(t);
        latencies.push(stamp ? t - stamp.ms : Number.NaN);
      }
    },
    true,
  );
  const audio = new FrameSplitter(AUDIO_CHUNK_BYTES, () => undefined, false);
  const pipes = proc.start();
  pipes.video.on("data", (chunk: Buffer) => {
    splitter.push(chunk);
  });
  pipes.audio?.on("data", (chunk: Buffer) => {
    audio.push(chunk);
  });
  return {
    pid: proc.pid,
    latencies,
    at,
    async stop() {
      await proc.stop();
    },
  };
}

/**
 * Synthetic 720p-like frames at a steady rate into one RTCVideoSource: SMPTE-like bars scrolling 2 px a frame
 * (as the camera's videotestsrc does) with the stamp on top, so the receiver reads wrtc's own latency.
 */
export class SyntheticSource {
  // Encoded as the bot encodes a camera (no denoiser): the floor is the same encoder's cost.
  readonly source = newCameraVideoSource();
  private readonly data: Uint8Array;
  private readonly bars: Uint8Array;
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  private readonly startedAt = performance.now();
  private readonly tracks: MediaStreamTrack[] = [];

  constructor(
    readonly width: number,
    readonly height: number,
    readonly fps: number,
  ) {
    this.data = new Uint8Array((width * height * 3) / 2);
    // One luma row of 7 bars, twice, so a scrolled row is a plain subarray.
    const levels = [180, 162, 131, 112, 84, 65, 35];
    this.bars = new Uint8Array(width * 2);
    for (let x = 0; x < width * 2; x++) this.bars[x] = levels[Math.floor(((x % width) * levels.length) / width)] ?? 16;
    this.data.fill(128, width * height);
    for (let i = width * height; i < this.data.length; i++) this.data[i] = 96 + ((i * 7) % 64);
    this.tick();
  }

  createTrack(): MediaStreamTrack {
    const track = this.source.createTrack();
    this.tracks.push(track);
    return track;
  }

  private tick(): void {
    const { width, height } = this;
    const shift = (this.n * 2) % width;
    const row = this.bars.subarray(shift, shift + width);
    for (let y = 0; y < height; y++) this.data.set(row, y * width);
    writeStamp({ width, height, data: this.data }, nowMs(), this.n & 0xffff);
    this.source.onFrame({ width, height, data: this.data });
    this.n++;
    const next = this.startedAt + (this.n * 1000) / this.fps;
    this.timer = setTimeout(
      () => {
        this.tick();
      },
      Math.max(0, next - performance.now()),
    );
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const t of this.tracks) t.stop();
  }
}
