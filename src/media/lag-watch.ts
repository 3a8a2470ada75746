import { gstFrameTimeMs } from "./gst-front-end.ts";

/** The output time (ms) in ffmpeg's `-progress` line `out_time_us=` or the GStreamer lag probe's line; else undefined. */
function outputTimeMs(text: string): number | undefined {
  const m = /^out_time_us=(\d+)$/.exec(text);
  if (m?.[1] !== undefined) return Number(m[1]) / 1000;
  return gstFrameTimeMs(text);
}

/**
 * How far behind the live picture a camera's front end runs, from ffmpeg's `-progress` reports or the
 * GStreamer front end's per-frame timestamps (gst-front-end.ts).
 *
 * A live source's output time advances as fast as the wall clock while the front end keeps up, so
 * `wall clock − output time` stays constant; its smallest value in this run is the baseline (the
 * connect and probe time fall out). When it cannot keep up (the CPU is saturated, or Node
 * reads its pipes too slowly), the frames it still has to decode pile up in front of it and the
 * difference grows: that growth is the lag. It never shrinks on its own under a steady overload.
 */
export class LagWatch {
  private baseline: number | undefined;
  private behindSince: number | undefined;
  /** The current lag (ms): how much later than at its best this run shows the camera's picture. */
  lagMs = 0;

  /**
   * @param maxLagMs more lag than this, held for `holdMs`, means the stream should be resynced
   * @param holdMs how long the lag must stay above `maxLagMs` (a short burst catches up by itself)
   */
  constructor(
    private readonly maxLagMs: number,
    private readonly holdMs: number,
  ) {}

  /** Reads one progress line (ffmpeg's or GStreamer's); true when the stream is too far behind (see the constructor). */
  line(text: string, nowMs: number): boolean {
    const outMs = outputTimeMs(text);
    if (outMs === undefined || outMs <= 0) return false;
    const offset = nowMs - outMs;
    if (this.baseline === undefined || offset < this.baseline) this.baseline = offset;
    this.lagMs = offset - this.baseline;
    if (this.lagMs <= this.maxLagMs) {
      this.behindSince = undefined;
      return false;
    }
    this.behindSince ??= nowMs;
    return nowMs - this.behindSince >= this.holdMs;
  }
}
