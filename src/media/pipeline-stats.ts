/**
 * What a camera pipeline reports: its state and its figures (for /healthz, /metrics, !status and the bench). Apart
 * from camera-pipeline.ts so that readers of the figures do not import the pipeline's machinery.
 */
import type { CameraConfig } from "../config/load.ts";
import type { FrontEnd } from "./restart-policy.ts";

export type PipelineState = "stopped" | "starting" | "running" | "retrying";

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
  /** What reads the camera now: GStreamer when configured and it can, else ffmpeg. */
  frontEnd: FrontEnd;
}
