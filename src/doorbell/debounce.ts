/** Presses of one doorbell within its window ring once: the window starts at the press that rang. */
import type { Clock } from "./rate-limit.ts";

export class Debouncer {
  private readonly lastFired = new Map<string, number>();

  constructor(private readonly now: Clock = Date.now) {}

  /** Whether a press of `key` now would be outside its window (starts nothing). */
  ready(key: string, windowMs: number): boolean {
    const last = this.lastFired.get(key);
    return last === undefined || this.now() - last >= windowMs;
  }

  /** True when a press of `key` should ring (and starts its window); false inside the window. */
  fire(key: string, windowMs: number): boolean {
    const t = this.now();
    const last = this.lastFired.get(key);
    if (last !== undefined && t - last < windowMs) return false;
    this.lastFired.set(key, t);
    return true;
  }
}
