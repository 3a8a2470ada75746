/**
 * A queue's standing level, judged as CoDel does: the least it held after each step over a whole period. A burst
 * that passes leaves the least low; only what stayed the whole period is standing (latency that would otherwise
 * remain). Shared by the camera audio pacer (media/audio-pacer.ts) and the talkback mixer (talkback/mixer.ts).
 */
export class StandingQueue {
  private steps = 0;
  private least = Infinity;
  private sum = 0;

  constructor(private readonly periodSteps: number) {}

  /** The level after one step; at the end of each period, the period's least and mean level, else undefined. */
  observe(level: number): { least: number; mean: number } | undefined {
    this.least = Math.min(this.least, level);
    this.sum += level;
    if (++this.steps < this.periodSteps) return undefined;
    const period = { least: this.least, mean: this.sum / this.steps };
    this.reset();
    return period;
  }

  /** Starts a new period (the queue was emptied). */
  reset(): void {
    this.steps = 0;
    this.least = Infinity;
    this.sum = 0;
  }
}
