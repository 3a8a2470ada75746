/** Token buckets for the webhook: one per client address and one for everyone together. */

export type Clock = () => number;

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    /** Tokens added per millisecond. */
    private readonly refillPerMs: number,
    private readonly now: Clock,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, t - this.last) * this.refillPerMs);
    this.last = t;
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is there again. */
  msUntilToken(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.refillPerMs);
  }

  isFull(): boolean {
    this.refill();
    return this.tokens >= this.capacity;
  }
}

export interface RateLimitOptions {
  burst: number;
  perMinute: number;
  /** How many client addresses are tracked at most (the oldest full buckets are dropped first). */
  maxClients?: number;
}

/** A per-client bucket and a global one (four times as large). */
export class RateLimiter {
  private readonly clients = new Map<string, TokenBucket>();
  private readonly global: TokenBucket;
  private readonly maxClients: number;

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly now: Clock = Date.now,
  ) {
    this.global = new TokenBucket(opts.burst * 4, (opts.perMinute * 4) / 60_000, now);
    this.maxClients = opts.maxClients ?? 1024;
  }

  /** Allowed, or how long to wait (ms) before trying again. */
  check(client: string): { ok: true } | { ok: false; retryAfterMs: number } {
    let bucket = this.clients.get(client);
    if (bucket === undefined) {
      this.evict();
      bucket = new TokenBucket(this.opts.burst, this.opts.perMinute / 60_000, this.now);
      this.clients.set(client, bucket);
    }
    if (!bucket.take()) return { ok: false, retryAfterMs: bucket.msUntilToken() };
    if (!this.global.take()) return { ok: false, retryAfterMs: this.global.msUntilToken() };
    return { ok: true };
  }

  private evict(): void {
    if (this.clients.size < this.maxClients) return;
    for (const [key, bucket] of this.clients) {
      if (bucket.isFull()) this.clients.delete(key);
    }
    // Still full of busy clients: drop the oldest (insertion order), so memory stays bounded.
    while (this.clients.size >= this.maxClients) {
      const oldest = this.clients.keys().next();
      if (oldest.done === true) break;
      this.clients.delete(oldest.value);
    }
  }

  trackedClients(): number {
    return this.clients.size;
  }
}
