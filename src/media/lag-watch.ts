/**
 * How far behind the live picture a camera's ffmpeg runs, from its `-progress` reports.
 *
 * A live source's output time advances as fast as the wall clock while ffmpeg keeps up, so
 * `wall clock − output time` stays constant; its smallest value in this run is the baseline (the
 * connect and probe time fall out). When ffmpeg cannot keep up (the CPU is saturated, or Node
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

  /** Reads one line of ffmpeg's progress report; true when the stream is too far behind (see the constructor). */
  line(text: string, nowMs: number): boolean {
    const m = /^out_time_us=(\d+)$/.exec(text);
    if (m?.[1] === undefined) return false;
    const outUs = Number(m[1]);
    if (outUs <= 0) return false;
    const offset = nowMs - outUs / 1000;
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
