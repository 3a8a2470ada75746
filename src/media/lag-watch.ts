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

/**
 * Whether a front end is falling behind now, as opposed to how far behind it is (LagWatch): the rise of
 * `wall clock − output time` over the last `windowMs`, against its smallest value in that window. A front end
 * starved of CPU falls behind steadily (the bench's 8 calls over four 720p25 cameras at 640×360 on 2 cores: 3–4 s
 * within half a minute), so the rise passes `riseMs` and stays past it; a camera's clock that drifts from the wall
 * clock (a few ms a minute) never does, and a network stall is caught up as soon as the burst behind it arrives, well
 * within `holdMs`. It reports (true from line()) once the rise has been past `riseMs` for `holdMs`, then every
 * `windowMs` while it stays past it (it is still falling behind: the rise is against the window's smallest offset),
 * and after the rise fell under half of `riseMs`, afresh.
 */
export class LagRise {
  /** (time, offset) of the window with increasing offsets: the first is the window's smallest. */
  private readonly window: { at: number; offset: number }[] = [];
  private risingSince: number | undefined;
  private reportedAt: number | undefined;
  /** The current rise (ms) over the window. */
  riseMs = 0;

  constructor(
    private readonly riseLimitMs: number,
    private readonly holdMs: number,
    private readonly windowMs: number,
  ) {}

  /** Reads one progress line (ffmpeg's or GStreamer's); true when the front end has just been found falling behind. */
  line(text: string, nowMs: number): boolean {
    const outMs = outputTimeMs(text);
    if (outMs === undefined || outMs <= 0) return false;
    const offset = nowMs - outMs;
    while (this.window.length > 0 && (this.window.at(-1)?.offset ?? 0) >= offset) this.window.pop();
    this.window.push({ at: nowMs, offset });
    while (this.window.length > 1 && (this.window[0]?.at ?? nowMs) < nowMs - this.windowMs) this.window.shift();
    this.riseMs = offset - (this.window[0]?.offset ?? offset);
    if (this.riseMs <= this.riseLimitMs) {
      this.risingSince = undefined;
      if (this.riseMs < this.riseLimitMs / 2) this.reportedAt = undefined;
      return false;
    }
    this.risingSince ??= nowMs;
    if (nowMs - this.risingSince < this.holdMs) return false;
    if (this.reportedAt !== undefined && nowMs - this.reportedAt < this.windowMs) return false;
    this.reportedAt = nowMs;
    return true;
  }
}
