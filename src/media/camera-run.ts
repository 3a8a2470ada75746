import { EventEmitter } from "node:events";
import type { Readable } from "node:stream";
import type { Logger } from "../util/logger.ts";
import { isHwAccelError, isMissingAudioError, OutputSizeParser } from "./ffmpeg-args.ts";
import { isMissingComponentError } from "./lean-ffmpeg.ts";
import { FfmpegProcess, type FfmpegExit, type ProcessLayout } from "./ffmpeg-process.ts";
import { gstCodecOf, gstSizeFromLine, gstVideoEncoding, isGstCameraGone, isGstUnsupported, type GstCodec } from "./gst-front-end.ts";
import { FrameSplitter } from "./frame-splitter.ts";
import { LagRise, LagWatch } from "./lag-watch.ts";
import { readPipeIntoOneBuffer } from "./pipe-reader.ts";
import type { EndReason, ExitFacts } from "./restart-policy.ts";

/** Raw video held while the front end has not yet reported the output size (bounded). */
const MAX_EARLY_BYTES = 64 * 1024 * 1024;
/** No frame for this long while running: the stream is stuck, restart the front end. */
export const STALL_MS = 10_000;
/**
 * gst-launch without a first frame for this long is stuck too: a camera whose stream has sound but no picture
 * keeps the audio branch playing and never ends it (ffmpeg exits at once: its video map fails). Long enough for a
 * camera whose keyframes are seconds apart.
 */
export const GST_FIRST_FRAME_MS = 30_000;
/** The front end this far behind the live picture (see LagWatch), for this long, is reported as behind. */
const MAX_LAG_MS = 2000;
const LAG_HOLD_MS = 3000;
/**
 * The front end falling behind by this much within LATE_WINDOW_MS, for LATE_HOLD_MS, is reported as late (LagRise):
 * well before a resync, so that the owner can lighten the load while the picture is still under a second behind.
 */
const LATE_RISE_MS = 500;
const LATE_HOLD_MS = 1000;
const LATE_WINDOW_MS = 10_000;

/** What one run executes: ffmpeg (buildCameraArgs) or gst-launch-1.0 (buildGstArgs). */
export interface RunCommand {
  binary: string;
  args: readonly string[];
  layout: ProcessLayout;
  /** The GStreamer chain's codec (gst-launch layout). */
  gstCodec?: GstCodec;
}

export interface VideoFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

/** How a run ended: the process's exit and what its stderr said on the way (the facts the restart policy reads). */
export interface RunEnd extends Pick<ExitFacts, "endedFor" | "missingAudio" | "hwFailed" | "frontEndFailed" | "gstCodec" | "frames"> {
  exit: FfmpegExit;
}

interface RunEvents {
  /** The front end reported the output size (before the first frame). */
  size: [size: { width: number; height: number }];
  /** One I420 frame; `data` is only valid during the call (see FrameSplitter). */
  frame: [frame: VideoFrame];
  firstFrame: [size: { width: number; height: number }];
  /** s16le PCM from fd 3, as read. */
  pcm: [chunk: Buffer];
  /** The front end has been too far behind the live picture for a while (the owner decides whether to resync). */
  behind: [lagMs: number];
  /** The front end is falling behind the live picture now (LagRise): the machine gives it too little CPU. */
  late: [riseMs: number];
  exit: [end: RunEnd];
}

/**
 * One run of a camera's front end (ffmpeg, or gst-launch-1.0: see gst-front-end.ts): its process, the raw video
 * cut into frames once the front end has said their size (what comes before is held, bounded), the PCM handed
 * on, the stall watch after the first frame, and what its log lines say about missing audio, failed hardware
 * decoding or a GStreamer pipeline that cannot work. It ends once; a new run is a new object.
 *
 * Data that arrives after the run's exit or its stop() is dropped: it would restart the sound's 10 ms timer
 * or feed frames of a process that is no longer the camera's.
 */
export class CameraRun extends EventEmitter<RunEvents> {
  private readonly process: FfmpegProcess;
  private readonly lag = new LagWatch(MAX_LAG_MS, LAG_HOLD_MS);
  private readonly rise = new LagRise(LATE_RISE_MS, LATE_HOLD_MS, LATE_WINDOW_MS);
  private readonly sizeParser = new OutputSizeParser();
  private readonly layout: ProcessLayout;
  private readonly codec: GstCodec;
  private splitter: FrameSplitter | undefined;
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private missingAudio = false;
  private hwFailed = false;
  /** ffmpeg said a part of it is missing (a decoder the lean build lacks). */
  private componentMissing = false;
  private gstFailed = false;
  private announced: GstCodec | undefined;
  private endedFor: EndReason;
  private detached = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;

  constructor(
    command: RunCommand,
    private readonly log: Logger,
    private readonly limits: { gstFirstFrameMs: number } = { gstFirstFrameMs: GST_FIRST_FRAME_MS },
  ) {
    super();
    this.layout = command.layout;
    this.codec = command.gstCodec ?? "h264";
    this.process = new FfmpegProcess(command.binary, command.args, log, 1, command.layout);
  }

  /** Frames delivered so far. */
  get frames(): number {
    return this.splitter?.emitted ?? 0;
  }

  /** Frames skipped because newer ones were already there (the reader fell behind). */
  get dropped(): number {
    return this.splitter?.dropped ?? 0;
  }

  /** How far behind the live picture the front end runs now (ms). */
  get lagMs(): number {
    return this.lag.lagMs;
  }

  /** Starts the process; throws when it cannot be spawned at all. */
  start(): void {
    this.process.on("progress", (line) => {
      const now = Date.now();
      if (this.rise.line(line, now)) this.emit("late", this.rise.riseMs);
      if (this.lag.line(line, now)) this.emit("behind", this.lag.lagMs);
    });
    this.process.on("line", (line) => {
      this.onLine(line);
    });
    this.process.once("exit", (exit) => {
      this.detach();
      const frontEndFailed = this.layout === "gst-launch" ? this.gstFailed || (exit.code !== null && exit.code < 0) : this.componentMissing;
      this.emit("exit", {
        exit,
        endedFor: this.endedFor,
        missingAudio: this.missingAudio,
        hwFailed: this.hwFailed,
        frontEndFailed,
        gstCodec: this.announced,
        frames: this.frames,
      });
    });
    const pipes: { video: Readable; audio: Readable | undefined } = this.process.start();
    if (this.layout === "gst-launch") this.watchForStall(this.limits.gstFirstFrameMs);
    readPipeIntoOneBuffer(
      pipes.video,
      (chunk) => {
        if (this.detached) return;
        if (this.splitter) {
          this.splitter.push(chunk);
        } else if (this.earlyBytes < MAX_EARLY_BYTES) {
          // A copy: the chunk is the pipe reader's buffer, which the next read overwrites.
          this.early.push(Buffer.from(chunk));
          this.earlyBytes += chunk.length;
        }
      },
      (err) => {
        this.log.warn({ err: err.message }, "camera front end's video pipe failed");
      },
    );
    pipes.audio?.on("data", (chunk: Buffer) => {
      if (!this.detached) this.emit("pcm", chunk);
    });
  }

  /** Ends the process for a reason of the pipeline's own (the first reason given is kept); the exit event follows. */
  end(reason: "resync" | "stall"): void {
    if (this.endedFor !== undefined) return;
    this.endedFor = reason;
    void this.process.stop();
  }

  /** True once end() was called. */
  get ending(): boolean {
    return this.endedFor !== undefined;
  }

  /** The owner lets go: nothing more is delivered, and the process is ended. */
  async stop(): Promise<void> {
    this.detach();
    await this.process.stop();
  }

  private detach(): void {
    this.detached = true;
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
    this.stallTimer = undefined;
  }

  private onLine(line: string): void {
    if (this.layout === "gst-launch") {
      const encoding = gstVideoEncoding(line);
      const codec = encoding === undefined ? undefined : gstCodecOf(encoding);
      // Kept once known: under load gst-launch's "not-linked" error (stderr) came after the caps line (stdout)
      // and wiped the codec, so an H.265 camera fell back to ffmpeg (CI, 2026-12-01).
      if (codec !== undefined && codec !== this.codec) this.announced = codec;
      if (isGstUnsupported(line) || (encoding !== undefined && codec !== this.codec)) {
        this.gstFailed = true;
        void this.process.stop();
      } else if (isGstCameraGone(line)) {
        void this.process.stop();
      }
    } else {
      if (isMissingAudioError(line)) this.missingAudio = true;
      if (isHwAccelError(line)) this.hwFailed = true;
      if (isMissingComponentError(line)) this.componentMissing = true;
    }
    if (this.splitter === undefined) {
      const size = this.layout === "gst-launch" ? gstSizeFromLine(line) : this.sizeParser.line(line);
      if (size) {
        const splitter = this.onSize(size);
        for (const chunk of this.early) splitter.push(chunk);
        this.early = [];
      }
    }
    this.log.trace({ ffmpeg: line }, "ffmpeg");
  }

  private onSize(size: { width: number; height: number }): FrameSplitter {
    this.emit("size", size);
    const frame: VideoFrame = { width: size.width, height: size.height, data: new Uint8Array(0) };
    let first = true;
    this.splitter = new FrameSplitter(
      (size.width * size.height * 3) / 2,
      (data) => {
        frame.data = data;
        this.emit("frame", frame);
        this.lastFrameAt = Date.now();
        if (first) {
          first = false;
          this.watchForStall();
          this.emit("firstFrame", size);
        }
      },
      true,
      true,
    );
    return this.splitter;
  }

  /** Ends the run once no frame came for `limitMs` (from now, then from each frame); one watch at a time. */
  private watchForStall(limitMs = STALL_MS): void {
    if (this.detached) return;
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
    this.lastFrameAt = Date.now();
    this.stallTimer = setInterval(
      () => {
        if (Date.now() - this.lastFrameAt < limitMs) return;
        this.log.warn({ stalledForMs: Date.now() - this.lastFrameAt }, "camera stream stalled; restarting it");
        if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
        this.stallTimer = undefined;
        this.end("stall");
      },
      Math.min(limitMs, STALL_MS) / 2,
    );
  }
}
