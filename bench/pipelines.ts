/**
 * The pipelines measured besides the bot:
 * - the reference of call-assist: one ffmpeg per call, `ffmpeg -i <rtsp> -pix_fmt yuv420p -s 640x480 -r 10 -an -f
 *   rawvideo pipe:1` (no low-latency flags), every frame into an RTCVideoSource, one peer connection to the receiver;
 * - the decode floor: our camera ffmpeg (buildCameraArgs) with its pipes drained here, the stamp read at its output;
 * - the encode floor: an RTCVideoSource fed the camera's own decoded frames (the decode floor's), into k peer
 *   connections to the receiver.
 */
import { pino } from "pino";
import { buildCameraArgs, AUDIO_CHUNK_BYTES } from "../src/media/ffmpeg-args.ts";
import { FfmpegProcess } from "../src/media/ffmpeg-process.ts";
import { FrameSplitter } from "../src/media/frame-splitter.ts";
import { readPipeIntoOneBuffer } from "../src/media/pipe-reader.ts";
import { newCameraVideoSource, nonstandard } from "../src/rtc/wrtc.ts";
import { openPlainLink, type PlainLink } from "./plain-link.ts";
import type { ReceiverClient } from "./receiver-client.ts";
import { nowMs, readStamp } from "./stamp.ts";

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

type Frame = { width: number; height: number; data: Uint8Array };

/**
 * Our camera ffmpeg alone: the command the bot runs, video and audio pipes drained, stamps read at its output;
 * each frame also handed to `onFrame` (the encode floor feeds it to wrtc).
 */
export function startDecodeFloor(
  ffmpegPath: string,
  url: string,
  size: { width: number; height: number; fps: number },
  onFrame?: (frame: Frame) => void,
): DecodeFloorRun {
  const args = buildCameraArgs({ url, maxWidth: size.width, maxHeight: size.height, maxFps: size.fps, audio: true });
  const proc = new FfmpegProcess(ffmpegPath, args, quiet);
  const latencies: number[] = [];
  const at: number[] = [];
  const frame: Frame = { width: size.width, height: size.height, data: new Uint8Array(0) };
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
      onFrame?.(frame);
    },
    true,
    true,
  );
  const audio = new FrameSplitter(AUDIO_CHUNK_BYTES, () => undefined, false);
  const pipes = proc.start();
  // Read as the bot reads it (camera-run.ts).
  readPipeIntoOneBuffer(
    pipes.video,
    (chunk) => {
      splitter.push(chunk);
    },
    () => undefined,
  );
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
 * One RTCVideoSource fed from outside, encoded as the bot encodes a camera (no denoiser), and its tracks.
 * The encode floor feeds it the camera's own decoded picture, so the floor encodes what the calls encode: VP8's
 * cost depends on the picture. Until 2026-12-01 it encoded synthetic scrolling bars: 12.1 % of a core per encode in
 * a full run at 11:42; the camera's x264-coded test picture 14.6 % in the full run at 12:07 (same idle machine).
 */
export class FedSource {
  readonly source = newCameraVideoSource();
  private readonly tracks: MediaStreamTrack[] = [];

  createTrack(): MediaStreamTrack {
    const track = this.source.createTrack();
    this.tracks.push(track);
    return track;
  }

  push(frame: Frame): void {
    this.source.onFrame(frame);
  }

  stop(): void {
    for (const t of this.tracks) t.stop();
  }
}
