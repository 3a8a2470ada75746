/** Token buckets: the webhook's (failures per client, authenticated presses together) and the presses' (per camera, all together). */
import { isIPv4, isIPv6 } from "node:net";

export type Clock = () => number;

export type Verdict = { ok: true } | { ok: false; retryAfterMs: number };

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

  /** Takes one token, or says how long until there is one. */
  check(): Verdict {
    return this.take() ? { ok: true } : { ok: false, retryAfterMs: this.msUntilToken() };
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
  /** How many keys (client addresses, cameras) are tracked at most (the oldest full buckets are dropped first). */
  maxClients?: number;
}

/** One bucket per key (a client address, a camera), with a bounded number of keys. */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly maxKeys: number;

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly now: Clock = Date.now,
  ) {
    this.maxKeys = opts.maxClients ?? 1024;
  }

  check(key: string): Verdict {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.evict();
      bucket = new TokenBucket(this.opts.burst, this.opts.perMinute / 60_000, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.check();
  }

  private evict(): void {
    if (this.buckets.size < this.maxKeys) return;
    for (const [key, bucket] of this.buckets) {
      if (bucket.isFull()) this.buckets.delete(key);
    }
    // Still full of busy keys: drop the oldest (insertion order), so memory stays bounded.
    while (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done === true) break;
      this.buckets.delete(oldest.value);
    }
  }

  size(): number {
    return this.buckets.size;
  }
}

/** A bucket per key and a global one four times as large: one key alone never takes more than a quarter of the total. */
export class RateLimiter {
  private readonly perKey: KeyedBuckets;
  private readonly global: TokenBucket;

  constructor(opts: RateLimitOptions, now: Clock = Date.now) {
    this.perKey = new KeyedBuckets(opts, now);
    this.global = new TokenBucket(opts.burst * 4, (opts.perMinute * 4) / 60_000, now);
  }

  /** Allowed, or how long to wait (ms) before trying again. */
  check(key: string): Verdict {
    const own = this.perKey.check(key);
    return own.ok ? this.global.check() : own;
  }

  trackedClients(): number {
    return this.perKey.size();
  }
}

/**
 * The rate-limit key of a client address: IPv4 as is (an IPv4-mapped IPv6 address too), IPv6 by its /64 — one
 * host is usually given a whole /64, so keying by the full address would give it 2^64 buckets.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  const bare = address.replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped?.[1] !== undefined && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(bare) || !isIPv6(bare)) return bare;
  const groups = expandIPv6(bare);
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, lower-case hex without leading zeros. */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase();
  // A trailing dotted IPv4 part (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill("0");
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16).toString(16));
}
