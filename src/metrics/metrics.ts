import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { CallFigures } from "../call/call-figures.ts";
import type { EndReason } from "../call/state.ts";
import type { PipelineStats } from "../media/camera-pipeline.ts";

export type CallOutcome = "answered" | "declined" | "timed_out" | "failed";

/** What a finished call counts as: answered once media flowed, else why it did not. */
export function outcomeOf(end: { reason: EndReason; connected: boolean }): CallOutcome {
  if (end.connected) return "answered";
  if (end.reason === "declined") return "declined";
  if (end.reason === "invite_timeout") return "timed_out";
  return "failed";
}

const PIPELINE_STATES = ["stopped", "starting", "running", "retrying"] as const;

/** Where every figure comes from, read when scraped: the app passes them in (metrics reads no module's globals). */
export interface MetricsSources {
  activeCalls(): number;
  /** WebRTC peer connections open. */
  peerConnections(): number;
  /** ffmpeg processes running. */
  ffmpegProcesses(): number;
  /** Promise rejections nothing handled, so far. */
  unhandledRejections(): number;
  /** Each camera's figures; `divisor`: what its calls get of its picture (1 the full size; the encode budget's plan). */
  cameras(): Record<string, PipelineStats & { divisor?: number }>;
  /** The encode budget in force, megapixels per second (0: none; encode-budget.ts). */
  encodeBudget?(): number;
  /** The calls in progress with their video sender's figures (getStats). */
  calls?(): Promise<CallFigures[]>;
  /** Resident memory of the LiveKit process that MatrixRTC calls run in (livekit-host.ts); 0 while there is none. */
  liveKitResidentBytes?(): number;
}

/**
 * Prometheus metrics, on their own registry. Gauges and the per-camera counters are read from the
 * call manager and the camera hub when scraped (nothing is counted twice on the media path).
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly outcomes: Counter<"outcome">;
  private readonly setup: Histogram<"phase">;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "mcc_process_" });
    new Gauge({
      name: "mcc_active_calls",
      help: "Calls in progress (ringing or connected), legacy and MatrixRTC.",
      registers,
      collect() {
        this.set(sources.activeCalls());
      },
    });
    // With no call in progress both are 0 (ffmpeg once the idle grace has passed, and for cameras not kept warm): a
    // leak shows here first.
    new Gauge({
      name: "mcc_peer_connections",
      help: "WebRTC peer connections open (one per call in progress).",
      registers,
      collect() {
        this.set(sources.peerConnections());
      },
    });
    new Gauge({
      name: "mcc_ffmpeg_processes",
      help: "Camera front-end processes running (ffmpeg or gst-launch-1.0: one per camera in use, and snapshots).",
      registers,
      collect() {
        this.set(sources.ffmpegProcesses());
      },
    });
    // The bot's own RSS is mcc_process_resident_memory_bytes; rtc-node's memory is here, in its own process.
    new Gauge({
      name: "mcc_livekit_process_resident_bytes",
      help: "Resident memory of the LiveKit process MatrixRTC calls run in (0 while none runs: it is let go when worn or idle).",
      registers,
      collect() {
        this.set(sources.liveKitResidentBytes?.() ?? 0);
      },
    });
    new Counter({
      name: "mcc_unhandled_rejections_total",
      help: "Promise rejections nothing handled (each is logged; should stay 0).",
      registers,
      collect() {
        this.reset();
        this.inc(sources.unhandledRejections());
      },
    });
    this.outcomes = new Counter({ name: "mcc_calls_total", help: "Finished calls by outcome.", labelNames: ["outcome"], registers });
    for (const outcome of ["answered", "declined", "timed_out", "failed"] as const) this.outcomes.inc({ outcome }, 0);
    this.setup = new Histogram({
      name: "mcc_call_setup_seconds",
      help: "Call set-up times: invite sent to answer, and answer to media connected.",
      labelNames: ["phase"],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    });
    new Gauge({
      name: "mcc_camera_pipeline_state",
      help: "1 for the state each camera pipeline is in.",
      labelNames: ["camera", "state"],
      registers,
      collect() {
        this.reset();
        for (const [camera, s] of Object.entries(sources.cameras())) {
          for (const state of PIPELINE_STATES) this.set({ camera, state }, s.state === state ? 1 : 0);
        }
      },
    });
    const budget = sources.encodeBudget?.bind(sources);
    if (budget !== undefined) {
      new Gauge({
        name: "mcc_encode_budget_megapixels_per_second",
        help: "The encode budget in force (0: none): lower than configured while this machine encodes slower or cameras' pictures fall behind.",
        registers,
        collect() {
          this.set(budget());
        },
      });
    }
    const perCamera = (name: string, help: string, pick: (s: PipelineStats & { divisor?: number }) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ["camera"],
        registers,
        collect() {
          for (const [camera, s] of Object.entries(sources.cameras())) this.set({ camera }, pick(s));
        },
      });
    };
    const calls = sources.calls?.bind(sources);
    if (calls !== undefined) {
      // A scrape collects every metric at once: one getStats round per call, while it is pending, serves both gauges.
      let pending: Promise<CallFigures[]> | undefined;
      const figures = (): Promise<CallFigures[]> => {
        pending ??= calls().finally(() => {
          pending = undefined;
        });
        return pending;
      };
      const perCall = (name: string, help: string, pick: (v: NonNullable<CallFigures["video"]>) => number): void => {
        new Gauge({
          name,
          help,
          labelNames: ["call", "camera"],
          registers,
          async collect() {
            const list = await figures();
            this.reset();
            for (const f of list) if (f.video !== undefined) this.set({ call: f.callId, camera: f.camera }, pick(f.video));
          },
        });
      };
      perCall(
        "mcc_call_video_frames_sent",
        "Video frames sent on each call in progress (WebRTC outbound-rtp framesSent).",
        (v) => v.framesSent,
      );
      perCall("mcc_call_video_fps", "Frame rate each call in progress sends now (outbound-rtp framesPerSecond).", (v) => v.framesPerSecond);
    }
    perCamera("mcc_camera_frames_in_total", "Frames decoded from the camera and handed to WebRTC.", (s) => s.framesIn);
    perCamera("mcc_camera_frames_dropped_total", "Frames skipped because newer ones were already there.", (s) => s.framesDropped);
    perCamera(
      "mcc_camera_ffmpeg_restarts_total",
      "Times the camera's front end (ffmpeg or gst-launch-1.0) was restarted after it ended.",
      (s) => s.restarts,
    );
    perCamera(
      "mcc_camera_lag_seconds",
      "How far behind the live picture the camera's front end (ffmpeg or gst-launch-1.0) runs (0 when it keeps up).",
      (s) => s.lagMs / 1000,
    );
    perCamera(
      "mcc_camera_audio_seconds_total",
      "Seconds of the camera's own sound sent to its calls (stays 0 while its sound does not come: calls carry silence).",
      (s) => s.audioChunks.played / 100,
    );
    perCamera(
      "mcc_camera_audio_gap_seconds_total",
      "Silence sent in gaps of the camera's sound after it had started (its packets late or missing).",
      (s) => s.audioChunks.silent / 100,
    );
    perCamera(
      "mcc_camera_picture_divisor",
      "What the camera's calls get of its picture: 1 the full size, 2 half its width and height, 4 a quarter (CPU overload).",
      (s) => s.divisor ?? 1,
    );
    perCamera(
      "mcc_camera_resyncs_total",
      "Times the camera's front end was restarted because it had fallen too far behind.",
      (s) => s.resyncs,
    );
  }

  callEnded(end: { reason: EndReason; connected: boolean }): void {
    this.outcomes.inc({ outcome: outcomeOf(end) });
  }

  /** A call set-up phase took `seconds` ("answer": invite → answer, "connect": answer → media). */
  setupPhase(phase: "answer" | "connect", seconds: number): void {
    this.setup.observe({ phase }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
