/**
 * How many calls a user may start: at most `perMinute` in any 60 s (a sliding window per user), so a
 * user (or a stolen account) cannot keep the cameras and the encoder busy with call after call. The
 * calls counted are the ones a user starts: `!call` and calls placed to the bot (doorbell rings are
 * not). The ceiling on calls in progress (`calls.maxConcurrent`) is a rule in admission.ts.
 */

const WINDOW_MS = 60_000;

/** The bot already has `calls.maxConcurrent` calls in progress. */
export class CallLimitError extends Error {}
/** Users tracked at most; the ones whose window has emptied go first. */
const MAX_USERS = 4096;

export type Clock = () => number;

export class UserCallRate {
  /** Per user, the start times (ms) of their calls in the last minute, oldest first. */
  private readonly starts = new Map<string, number[]>();

  constructor(
    readonly perMinute: number,
    private readonly now: Clock = Date.now,
  ) {}

  /** Counts a call `userId` starts; when they are over the limit it is not counted and says how long to wait (ms). */
  take(userId: string): { ok: true } | { ok: false; retryAfterMs: number } {
    const t = this.now();
    const recent = (this.starts.get(userId) ?? []).filter((s) => t - s < WINDOW_MS);
    if (recent.length >= this.perMinute) {
      this.starts.set(userId, recent);
      const oldest = recent[0] ?? t;
      return { ok: false, retryAfterMs: Math.max(1, oldest + WINDOW_MS - t) };
    }
    recent.push(t);
    this.starts.delete(userId);
    this.starts.set(userId, recent);
    this.evict(t);
    return { ok: true };
  }

  private evict(t: number): void {
    if (this.starts.size <= MAX_USERS) return;
    for (const [user, times] of this.starts) {
      if (times.every((s) => t - s >= WINDOW_MS)) this.starts.delete(user);
    }
    // Still too many busy users: the least recently active go (insertion order), so memory stays bounded.
    while (this.starts.size > MAX_USERS) {
      const oldest = this.starts.keys().next();
      if (oldest.done === true) break;
      this.starts.delete(oldest.value);
    }
  }

  trackedUsers(): number {
    return this.starts.size;
  }
}

/** The chat reply for a user over the limit. */
export function userRateText(perMinute: number, retryAfterMs: number): string {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return `You have started ${perMinute} call${perMinute === 1 ? "" : "s"} in the last minute, the most I allow. Try again in ${seconds} s.`;
}

/** The chat reply when the bot already has as many calls as it may. */
export function concurrentLimitText(max: number): string {
  return `I already have ${max} call${max === 1 ? "" : "s"} in progress, the most I take at once. Try again when one has ended.`;
}
