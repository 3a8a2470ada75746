import { EventEmitter } from "node:events";
import type { CameraConfig } from "../config/load.ts";
import { newCameraVideoSource, nonstandard, type RTCAudioSource, type RTCVideoSource } from "../rtc/wrtc.ts";
import type { Logger } from "../util/logger.ts";
import { CameraAudio } from "./camera-audio.ts";
import { MediaTaps, type CameraMediaHandlers, type I420Frame } from "./camera-media.ts";
import { CameraRun, type RunEnd } from "./camera-run.ts";
import { FrameScaler } from "./frame-scaler.ts";
import { OfflinePicture } from "./offline-picture.ts";
import { nextStep, WATCHED_MAX_RETRY_S } from "./restart-policy.ts";
import { PipelineTotals, type PipelineState, type PipelineStats } from "./pipeline-stats.ts";
import { RunOptions } from "./run-options.ts";
import type { Ffmpegs } from "./lean-ffmpeg.ts";

export { RECONNECT_BACKOFF_S } from "./restart-policy.ts";

export type { PipelineState, PipelineStats } from "./pipeline-stats.ts";

/** A camera always behind the live picture is restarted to catch up not more often than this, so it still shows a picture most of the time. */
export const RESYNC_MIN_INTERVAL_MS = 30_000;

interface PipelineEvents {
  state: [state: PipelineState];
  /** The first frame after a (re)start. */
  firstFrame: [size: { width: number; height: number }];
  /** The front end is falling behind the live picture (CameraRun's late): the machine is short of CPU. */
  late: [riseMs: number];
}

/**
 * One camera's media: one RTCVideoSource and one RTCAudioSource from which every call of this camera takes its
 * own tracks, fed by one front-end run (ffmpeg or GStreamer) at a time (CameraRun). While the camera is wanted, each run's end is handed
 * to the restart policy (restart-policy.ts), and this class carries its decision out: start the next run, now or
 * after a backoff with the offline picture showing meanwhile. What the next run uses (front end, audio, hardware
 * decoding, and the fallbacks that narrow them) is run-options.ts; the figures it reports, counted over its runs, are
 * pipeline-stats.ts.
 */
export class CameraPipeline extends EventEmitter<PipelineEvents> {
  readonly video: RTCVideoSource = newCameraVideoSource();
  readonly audio: RTCAudioSource = new nonstandard.RTCAudioSource();
  private state: PipelineState = "stopped";
  private run: CameraRun | undefined;
  private wanted = false;
  /** Whether calls are watching (then retries stay quick). */
  private watched = false;
  /** The options of the next run (front end, audio, hardware decoding): a fallback turns them off for good. */
  private readonly options: RunOptions;
  /** Reconnect attempts since video last flowed. */
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private lastResyncAt = -Infinity;
  /** The last output size, for the offline picture. */
  private size: { width: number; height: number } | undefined;
  private readonly totals = new PipelineTotals();
  private readonly offline: OfflinePicture;
  /** What the sources are given, for those who are not a wrtc peer connection (camera-media.ts). */
  private readonly taps = new MediaTaps();
  /** The camera's sound, or silence when it gives none. */
  private readonly sound = new CameraAudio(this.audio, (chunk) => {
    this.taps.audio(chunk);
  });
  /** What the calls get of each frame: 1 the full picture, 2 half, 4 a quarter of its width and height (encode-budget.ts). */
  private divisor = 1;
  private readonly scaler = new FrameScaler();

  constructor(
    readonly camera: CameraConfig,
    ffmpegs: Ffmpegs,
    private readonly log: Logger,
  ) {
    super();
    this.options = new RunOptions(camera, ffmpegs, log);
    this.offline = new OfflinePicture(ffmpegs.full, (frame) => {
      this.show(frame);
    });
  }

  stats(): PipelineStats {
    return this.totals.report(this.state, this.run, this.size, this.options, this.sound.counts);
  }

  /** Scales the picture the calls get from the next frame on (1: full size); the encode budget decides. */
  setScale(divisor: number): void {
    this.divisor = divisor;
  }

  /** The frames and PCM the sources are given, as they are given them, until stop(). */
  tap(handlers: CameraMediaHandlers): { stop(): void } {
    return this.taps.add(handlers);
  }

  private show(frame: I420Frame): void {
    const shown = this.divisor > 1 ? this.scaler.scale(frame, this.divisor) : frame;
    this.video.onFrame(shown);
    this.taps.video(shown);
  }

  getState(): PipelineState {
    return this.state;
  }

  /** Calls are (or are no longer) watching: while they are, reconnect attempts stay at most 1 s apart. */
  setWatched(watched: boolean): void {
    this.watched = watched;
    if (watched && this.retryTimer !== undefined && this.state === "retrying") this.retryIn(WATCHED_MAX_RETRY_S);
  }

  /** The camera's sound toward the calls, turned down while a callee talks through the door (talkback/ducker.ts). */
  setAudioGain(gain: number): void {
    this.sound.setGain(gain);
  }

  /** Settles once a run reads the camera as configured (before, ffmpeg reads it without its frame-end proxy). */
  prepared(): Promise<void> {
    return this.options.prepared();
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
    const run = this.run;
    this.run = undefined;
    if (run) {
      await run.stop();
      this.totals.fold(run);
    }
    // Again: a start() during the wait owns the pipeline now; otherwise nothing may be left running (a run
    // drops what arrives after its stop(), this is the second line of defence).
    if (!this.isWanted()) {
      this.clearTimers();
      this.sound.stop();
    }
    this.setState("stopped");
  }

  /** Stops for good (the bot's shutdown): also closes what the camera holds between runs (its frame-end proxy). */
  async shutdown(): Promise<void> {
    await this.stop();
    this.options.close();
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
    this.retryTimer = undefined;
    this.offline.stop();
  }

  private spawn(): void {
    this.setState(this.attempt === 0 ? "starting" : "retrying");
    // GStreamer says nothing when the camera has no sound: silence until its PCM comes, as for a camera without audio.
    if (!this.options.audioEnabled || this.options.frontEnd === "gstreamer") this.sound.silent();
    const run = new CameraRun(this.options.command(), this.log);
    this.run = run;
    run.on("size", (size) => {
      this.size = size;
    });
    run.on("frame", (frame) => {
      this.show(frame);
    });
    run.on("firstFrame", (size) => {
      this.options.framesFlowing();
      this.offline.stop();
      this.setState("running");
      this.emit("firstFrame", size);
      this.log.info({ width: size.width, height: size.height, restarts: this.totals.restarts }, "camera video flowing");
      // Video flows again: the next outage starts the backoff from its first step.
      this.attempt = 0;
    });
    run.on("pcm", (chunk) => {
      if (this.run === run) this.sound.push(chunk);
    });
    run.on("late", (riseMs) => {
      if (this.run === run) this.emit("late", riseMs);
    });
    run.on("behind", (lagMs) => {
      this.resync(run, lagMs);
    });
    run.once("exit", (end) => {
      this.onExit(run, end);
    });
    try {
      run.start();
    } catch (err: unknown) {
      this.log.error({ err: String(err) }, "could not start the camera's front end (ffmpeg or gst-launch-1.0)");
    }
  }

  /** The front end has fallen behind the live picture (the CPU cannot keep up): a fresh run starts at the live edge. */
  private resync(run: CameraRun, lagMs: number): void {
    if (this.run !== run || run.ending || Date.now() - this.lastResyncAt < RESYNC_MIN_INTERVAL_MS) return;
    this.lastResyncAt = Date.now();
    this.totals.resyncs++;
    this.log.warn(
      { lagMs: Math.round(lagMs) },
      "camera picture running behind (its decoder cannot keep up: CPU overloaded?); restarting it to catch up",
    );
    run.end("resync");
  }

  private onExit(run: CameraRun, end: RunEnd): void {
    if (this.run !== run) return;
    this.run = undefined;
    this.totals.fold(run);
    this.sound.reset();
    const step = nextStep({
      ...end,
      wanted: this.wanted,
      audio: this.options.audioEnabled,
      hwaccel: this.options.hwaccel,
      frontEnd: this.options.frontEnd,
      lean: this.options.lean,
      proxyFailed: this.options.runEnded(end.frames),
      attempt: this.attempt,
      watched: this.watched,
    });
    switch (step.kind) {
      case "idle":
        return;
      case "respawn":
        this.spawn();
        return;
      case "gstCodec":
      case "fallback":
        this.options.apply(step, end);
        this.spawn();
        return;
      case "retry":
        this.attempt = step.attempt;
        this.totals.restarts++;
        this.log.warn(
          {
            frontEnd: this.options.frontEnd,
            code: end.exit.code,
            signal: end.exit.signal,
            output: end.exit.lastLines.slice(-3),
            retryInS: step.delayS,
          },
          "camera stream ended; reconnecting",
        );
        this.setState("retrying");
        // Calls keep getting a picture while the camera is away: "camera offline", rendered once.
        this.offline.start(
          this.size?.width ?? this.camera.maxWidth - (this.camera.maxWidth % 2),
          this.size?.height ?? this.camera.maxHeight - (this.camera.maxHeight % 2),
        );
        this.sound.silent();
        this.retryIn(step.delayS);
        return;
    }
  }

  private retryIn(delayS: number): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.wanted) this.spawn();
    }, delayS * 1000);
  }
}
