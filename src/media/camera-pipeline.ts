import { EventEmitter } from "node:events";
import type { Readable } from "node:stream";
import type { CameraConfig } from "../config/load.ts";
import { nonstandard, type RTCAudioSource, type RTCVideoSource } from "../rtc/wrtc.ts";
import type { Logger } from "../util/logger.ts";
import { CameraAudio } from "./camera-audio.ts";
import { buildCameraArgs, isHwAccelError, isMissingAudioError, OutputSizeParser } from "./ffmpeg-args.ts";
import { FfmpegProcess, type FfmpegExit } from "./ffmpeg-process.ts";
import { FrameSplitter } from "./frame-splitter.ts";
import { LagWatch } from "./lag-watch.ts";
import { OfflinePicture } from "./offline-picture.ts";

export type PipelineState = "stopped" | "starting" | "running" | "retrying";

/** Waits between reconnect attempts (seconds); the last one repeats. */
export const RECONNECT_BACKOFF_S = [1, 2, 5, 10, 30] as const;
/** While calls watch the camera, a retry is never further away than this: video is back soon after the camera. */
const WATCHED_MAX_RETRY_S = 1;
/** Raw video held while ffmpeg has not yet reported the output size (bounded). */
const MAX_EARLY_BYTES = 64 * 1024 * 1024;
/** No frame for this long while running: the stream is stuck, restart ffmpeg. */
const STALL_MS = 10_000;
/** ffmpeg this far behind the live picture (see LagWatch), for this long, is restarted to catch up... */
const MAX_LAG_MS = 2000;
const LAG_HOLD_MS = 3000;
/** ...but not more often than this, so a camera that is always behind still shows a picture most of the time. */
const RESYNC_MIN_INTERVAL_MS = 30_000;

interface PipelineEvents {
  state: [state: PipelineState];
  /** The first frame after a (re)start. */
  firstFrame: [size: { width: number; height: number }];
}

export interface PipelineStats {
  state: PipelineState;
  width: number | undefined;
  height: number | undefined;
  framesIn: number;
  framesDropped: number;
  restarts: number;
  /** How far behind the live picture ffmpeg runs now (ms; see LagWatch). */
  lagMs: number;
  /** Times ffmpeg was restarted because it had fallen too far behind. */
  resyncs: number;
  audio: boolean;
  /** The decoding in use: the configured hardware decoder, or "none" (software). */
  hwaccel: CameraConfig["hwaccel"];
}

/**
 * One camera's media: one ffmpeg reading the camera, one RTCVideoSource and one RTCAudioSource
 * from which every call of this camera takes its own tracks. Restarts ffmpeg with backoff while wanted.
 */
export class CameraPipeline extends EventEmitter<PipelineEvents> {
  readonly video: RTCVideoSource = new nonstandard.RTCVideoSource();
  readonly audio: RTCAudioSource = new nonstandard.RTCAudioSource();
  private state: PipelineState = "stopped";
  private process: FfmpegProcess | undefined;
  private wanted = false;
  private audioEnabled: boolean;
  private hwaccel: CameraConfig["hwaccel"];
  /** Frames seen from the current ffmpeg. */
  private framesThisRun = 0;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** Whether calls are watching (then retries stay quick). */
  private watched = false;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastFrameAt = 0;
  private readonly offline: OfflinePicture;
  private splitter: FrameSplitter | undefined;
  private size: { width: number; height: number } | undefined;
  private framesIn = 0;
  private framesDropped = 0;
  private restarts = 0;
  private lag: LagWatch | undefined;
  private resyncs = 0;
  private lastResyncAt = -Infinity;
  /** The running ffmpeg is being stopped to catch up: start the next one at once. */
  private resyncing = false;
  /** The camera's sound, or silence when it gives none. */
  private readonly sound = new CameraAudio(this.audio);

  constructor(
    readonly camera: CameraConfig,
    private readonly ffmpegPath: string,
    private readonly log: Logger,
  ) {
    super();
    this.audioEnabled = camera.audio;
    this.hwaccel = camera.hwaccel;
    this.offline = new OfflinePicture(ffmpegPath, (frame) => {
      this.video.onFrame(frame);
    });
  }

  stats(): PipelineStats {
    return {
      state: this.state,
      width: this.size?.width,
      height: this.size?.height,
      framesIn: this.framesIn + (this.splitter?.emitted ?? 0),
      framesDropped: this.framesDropped + (this.splitter?.dropped ?? 0),
      restarts: this.restarts,
      lagMs: this.state === "running" ? Math.round(this.lag?.lagMs ?? 0) : 0,
      resyncs: this.resyncs,
      audio: this.audioEnabled,
      hwaccel: this.hwaccel,
    };
  }

  getState(): PipelineState {
    return this.state;
  }

  /** Calls are (or are no longer) watching: while they are, reconnect attempts stay at most 1 s apart. */
  setWatched(watched: boolean): void {
    this.watched = watched;
    if (watched && this.retryTimer !== undefined && this.state === "retrying") {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (this.wanted) this.spawn();
      }, WATCHED_MAX_RETRY_S * 1000);
    }
  }

  /** The camera's sound toward the calls, turned down while a callee talks through the door (talkback/ducker.ts). */
  setAudioGain(gain: number): void {
    this.sound.setGain(gain);
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.attempt = 0;
    this.spawn();
  }

  async stop(): Promise<void> {
    this.wanted = false;
    this.clearTimers();
    this.sound.stop();
    const proc = this.process;
    this.process = undefined;
    if (proc) await proc.stop();
    this.foldSplitterCounts();
    // Again: a start() during the wait owns the pipeline now; otherwise nothing may be left running (the pipe
    // handlers ignore a process that is no longer current, this is the second line of defence).
    if (!this.isWanted()) {
      this.clearTimers();
      this.sound.stop();
    }
    this.setState("stopped");
  }

  /** A method, not the field: TypeScript keeps the field narrowed to false across stop()'s await. */
  private isWanted(): boolean {
    return this.wanted;
  }

  private setState(state: PipelineState): void {
    if (state === this.state) return;
    this.state = state;
    this.emit("state", state);
  }

  private clearTimers(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
    this.retryTimer = undefined;
    this.stallTimer = undefined;
    this.offline.stop();
  }

  /** Calls keep getting a picture while the camera is away: "camera offline", rendered once. */
  private startOfflinePicture(): void {
    if (!this.wanted) return;
    this.offline.start(this.size?.width ?? this.camera.maxWidth - (this.camera.maxWidth % 2), this.size?.height ?? this.camera.maxHeight - (this.camera.maxHeight % 2));
  }

  private foldSplitterCounts(): void {
    if (!this.splitter) return;
    this.framesIn += this.splitter.emitted;
    this.framesDropped += this.splitter.dropped;
    this.splitter = undefined;
  }

  private spawn(): void {
    this.setState(this.attempt === 0 ? "starting" : "retrying");
    const { camera } = this;
    const args = buildCameraArgs({
      url: camera.url,
      maxWidth: camera.maxWidth,
      maxHeight: camera.maxHeight,
      maxFps: camera.maxFps,
      audio: this.audioEnabled,
      hwaccel: this.hwaccel,
    });
    this.framesThisRun = 0;
    if (!this.audioEnabled) this.sound.silent();
    const proc = new FfmpegProcess(this.ffmpegPath, args, this.log);
    this.process = proc;
    const sizeParser = new OutputSizeParser();
    let missingAudio = false;
    let hwFailed = false;
    const early: Buffer[] = [];
    let earlyBytes = 0;

    const lag = new LagWatch(MAX_LAG_MS, LAG_HOLD_MS);
    this.lag = lag;
    proc.on("progress", (line) => {
      if (lag.line(line, Date.now())) this.resync(proc, lag.lagMs);
    });
    proc.on("line", (line) => {
      if (isMissingAudioError(line)) missingAudio = true;
      if (isHwAccelError(line)) hwFailed = true;
      if (this.splitter === undefined) {
        const size = sizeParser.line(line);
        if (size) {
          const splitter = this.onSize(size);
          for (const chunk of early) splitter.push(chunk);
          early.length = 0;
        }
      }
      this.log.trace({ ffmpeg: line }, "ffmpeg");
    });
    proc.once("exit", (exit) => {
      this.onExit(proc, exit, missingAudio, hwFailed);
    });

    let pipes: { video: Readable; audio: Readable | undefined };
    try {
      pipes = proc.start();
    } catch (err: unknown) {
      this.log.error({ err: String(err) }, "could not start ffmpeg");
      return;
    }
    // Data from a process that is no longer current (being stopped, replaced) is dropped: it would restart the
    // sound's 10 ms timer or the stall timer of a stopped pipeline.
    pipes.video.on("data", (chunk: Buffer) => {
      if (this.process !== proc) return;
      if (this.splitter) {
        this.splitter.push(chunk);
      } else if (earlyBytes < MAX_EARLY_BYTES) {
        early.push(chunk);
        earlyBytes += chunk.length;
      }
    });
    pipes.audio?.on("data", (chunk: Buffer) => {
      if (this.process !== proc) return;
      this.sound.push(chunk);
    });
  }

  private onSize(size: { width: number; height: number }): FrameSplitter {
    this.size = size;
    const frame: { width: number; height: number; data: Uint8Array } = { width: size.width, height: size.height, data: new Uint8Array(0) };
    let first = true;
    this.splitter = new FrameSplitter(
      (size.width * size.height * 3) / 2,
      (data) => {
        frame.data = data;
        this.video.onFrame(frame);
        this.lastFrameAt = Date.now();
        this.framesThisRun++;
        if (first) {
          first = false;
          this.offline.stop();
          this.watchForStall();
          this.setState("running");
          this.emit("firstFrame", size);
          this.log.info({ width: size.width, height: size.height, restarts: this.restarts }, "camera video flowing");
          // Video flows again: the next outage starts the backoff from its first step.
          this.attempt = 0;
        }
      },
      true,
    );
    return this.splitter;
  }

  private watchForStall(): void {
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
    const proc = this.process;
    this.stallTimer = setInterval(() => {
      if (this.process !== proc || Date.now() - this.lastFrameAt < STALL_MS) return;
      this.log.warn({ stalledForMs: Date.now() - this.lastFrameAt }, "camera stream stalled; restarting it");
      void proc?.stop();
    }, STALL_MS / 2);
  }

  /** ffmpeg has fallen behind the live picture (the CPU cannot keep up): a fresh one starts at the live edge. */
  private resync(proc: FfmpegProcess, lagMs: number): void {
    if (this.process !== proc || this.resyncing || Date.now() - this.lastResyncAt < RESYNC_MIN_INTERVAL_MS) return;
    this.resyncing = true;
    this.lastResyncAt = Date.now();
    this.resyncs++;
    this.log.warn({ lagMs: Math.round(lagMs) }, "camera picture running behind (ffmpeg cannot keep up: CPU overloaded?); restarting it to catch up");
    void proc.stop();
  }

  private onExit(proc: FfmpegProcess, exit: FfmpegExit, missingAudio: boolean, hwFailed: boolean): void {
    if (this.process !== proc) return;
    this.process = undefined;
    this.foldSplitterCounts();
    this.sound.reset();
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
    this.stallTimer = undefined;
    const resyncing = this.resyncing;
    this.resyncing = false;
    if (!this.wanted) return;
    if (resyncing) {
      // Calls keep the last picture for the moment the new ffmpeg needs to start.
      this.spawn();
      return;
    }
    if (missingAudio && this.audioEnabled) {
      this.audioEnabled = false;
      this.log.warn("the camera has no audio stream: continuing with video only");
      this.spawn();
      return;
    }
    if (hwFailed && this.hwaccel !== "none" && this.framesThisRun === 0) {
      this.log.warn({ hwaccel: this.hwaccel, ffmpeg: exit.lastLines.slice(-2) }, "hardware decoding failed: using software decoding");
      this.hwaccel = "none";
      this.spawn();
      return;
    }
    const backoffS = RECONNECT_BACKOFF_S[Math.min(this.attempt, RECONNECT_BACKOFF_S.length - 1)] ?? 30;
    const delayS = this.watched ? Math.min(backoffS, WATCHED_MAX_RETRY_S) : backoffS;
    this.attempt++;
    this.restarts++;
    this.log.warn({ code: exit.code, signal: exit.signal, ffmpeg: exit.lastLines.slice(-3), retryInS: delayS }, "camera stream ended; reconnecting");
    this.setState("retrying");
    this.startOfflinePicture();
    this.sound.silent();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted) this.spawn();
    }, delayS * 1000);
  }
}
