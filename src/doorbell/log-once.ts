/** Logs a kind of problem at most once per interval, counting what it left out (malformed input floods nothing). */
import type { Logger } from "../util/logger.ts";
import type { Clock } from "./rate-limit.ts";

const MAX_KEYS = 256;

export class LogOnce {
  private readonly seen = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: Clock = Date.now,
  ) {}

  /** Logs `msg` with `fields` (never payload contents) unless the same key was logged within the interval. */
  warn(key: string, fields: Record<string, unknown>, msg: string): boolean {
    const t = this.now();
    const entry = this.seen.get(key);
    if (entry !== undefined && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return false;
    }
    if (entry === undefined && this.seen.size >= MAX_KEYS) {
      const oldest = this.seen.keys().next();
      if (oldest.done !== true) this.seen.delete(oldest.value);
    }
    const suppressed = entry?.suppressed ?? 0;
    this.seen.set(key, { at: t, suppressed: 0 });
    this.log.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
    return true;
  }
}
