/**
 * What a camera pipeline reports: its state and its figures (for /healthz, /metrics, !status and the bench), and
 * PipelineTotals, which counts them over the pipeline's runs. Apart from camera-pipeline.ts so that readers of the
 * figures do not import the pipeline's machinery, and the pipeline keeps to starting and stopping runs.
 */
import type { CameraConfig } from "../config/load.ts";
import type { AudioCounts } from "./audio-pacer.ts";
import type { FrontEnd } from "./restart-policy.ts";

export type PipelineState = "stopped" | "starting" | "running" | "retrying";

export interface PipelineStats {
  state: PipelineState;
  width: number | undefined;
  height: number | undefined;
  framesIn: number;
  framesDropped: number;
  restarts: number;
  /** How far behind the live picture the front end runs now (ms; see LagWatch). */
  lagMs: number;
  /** Times the front end was restarted because it had fallen too far behind. */
  resyncs: number;
  audio: boolean;
  /**
   * The camera's sound toward the calls, in 10 ms chunks over the pipeline's life: played (the camera's own), silent
   * (gaps after it had started), dropped (more came than the calls could play). A camera whose sound never comes
   * reads 0 played: calls then carry silence.
   */
  audioChunks: AudioCounts;
  /** The decoding in use: the configured hardware decoder, or "none" (software). */
  hwaccel: CameraConfig["hwaccel"];
  /** What reads the camera now: GStreamer unless configured otherwise and where it can, else ffmpeg. */
  frontEnd: FrontEnd;
  /**
   * Frames the frame-end proxy ended early in ffmpeg's last session through it (frame-end-proxy.ts); undefined
   * when ffmpeg reads the camera directly or GStreamer reads it.
   */
  frameEnds?: number | undefined;
}

/** What one run counts (CameraRun). */
export interface RunCounts {
  readonly frames: number;
  readonly dropped: number;
  readonly lagMs: number;
}

/** What the next run uses (RunOptions), as reported. */
export type ReportedOptions = Pick<PipelineStats, "hwaccel" | "frontEnd" | "frameEnds"> & { readonly audioEnabled: boolean };

/** The pipeline's counts over its runs: those of the runs that have ended, plus the current run's when reported. */
export class PipelineTotals {
  /** Reconnects after a run ended (not resyncs, not fallbacks). */
  restarts = 0;
  resyncs = 0;
  private framesIn = 0;
  private framesDropped = 0;

  /** A run has ended or been stopped: its counts join the totals. */
  fold(run: RunCounts): void {
    this.framesIn += run.frames;
    this.framesDropped += run.dropped;
  }

  report(
    state: PipelineState,
    run: RunCounts | undefined,
    size: { width: number; height: number } | undefined,
    options: ReportedOptions,
    sound: Readonly<AudioCounts>,
  ): PipelineStats {
    return {
      state,
      width: size?.width,
      height: size?.height,
      framesIn: this.framesIn + (run?.frames ?? 0),
      framesDropped: this.framesDropped + (run?.dropped ?? 0),
      restarts: this.restarts,
      lagMs: state === "running" ? Math.round(run?.lagMs ?? 0) : 0,
      resyncs: this.resyncs,
      audio: options.audioEnabled,
      audioChunks: { ...sound },
      hwaccel: options.hwaccel,
      frontEnd: options.frontEnd,
      frameEnds: options.frameEnds,
    };
  }
}
