/**
 * Frames the bot hands to each camera's RTCVideoSource: arrival time and latency since capture (read from the stamp).
 * Wraps each pipeline's `video.onFrame` with an own property shadowing wrtc's prototype method (the bot's code is
 * unchanged; src/media offers no frame observer and this helper may not change it): a few hundred pixel reads per
 * frame, in the bot's thread.
 */
import type { App } from "../../src/app.ts";
import { summarizeLatency, type LatencySummary } from "../stats.ts";
import { nowMs, readStamp } from "../stamp.ts";

const TAP_MAX = 200_000;

export interface SourceFigures {
  /** Frames handed to wrtc per second, worst camera. */
  fpsMin: number | undefined;
  latency: LatencySummary;
  /** Frames the bot's splitter skipped over the window. */
  splitterDropped: number;
  perCamera: { camera: string; fps: number; p50: number | undefined; p95: number | undefined }[];
}

export class SourceTaps {
  private readonly taps = new Map<string, { at: number[]; latency: number[] }>();

  constructor(private readonly app: App) {
    for (const name of app.hub.names()) {
      const source = app.hub.pipeline(name)?.video;
      if (!source) continue;
      const tap = { at: [] as number[], latency: [] as number[] };
      this.taps.set(name, tap);
      const original = source.onFrame.bind(source);
      const tapped: typeof source.onFrame = (frame) => {
        const at = nowMs();
        const stamp = readStamp(frame);
        if (tap.at.length < TAP_MAX) {
          tap.at.push(at);
          tap.latency.push(stamp ? at - stamp.ms : Number.NaN);
        }
        original(frame);
      };
      // wrtc's onFrame is a read-only property of the prototype: define an own one on this instance.
      Object.defineProperty(source, "onFrame", { value: tapped, configurable: true, writable: true });
    }
  }

  /** Frames the splitters of every camera skipped so far. */
  splitterDropped(): number {
    return Object.values(this.app.hub.stats()).reduce((sum, st) => sum + st.framesDropped, 0);
  }

  figures(cams: readonly string[], t0: number, t1: number, dropped: number): SourceFigures {
    const lat: number[] = [];
    const fps: number[] = [];
    const perCamera: SourceFigures["perCamera"] = [];
    for (const cam of cams) {
      const tap = this.taps.get(cam);
      if (!tap) continue;
      const own: number[] = [];
      for (let i = 0; i < tap.at.length; i++) {
        const at = tap.at[i] ?? 0;
        if (at >= t0 && at <= t1) own.push(tap.latency[i] ?? Number.NaN);
      }
      lat.push(...own);
      const f = own.length / ((t1 - t0) / 1000);
      fps.push(f);
      const sum = summarizeLatency(own);
      perCamera.push({ camera: cam, fps: f, p50: sum.p50, p95: sum.p95 });
    }
    return { fpsMin: fps.length > 0 ? Math.min(...fps) : undefined, latency: summarizeLatency(lat), splitterDropped: dropped, perCamera };
  }
}
