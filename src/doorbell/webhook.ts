/**
 * POST /ring/<camera> on the bot's HTTP listener: a bearer token (constant-time check), a small body.
 * The token is checked first: a request without it is charged to its client's own bucket only (IPv6 by
 * /64) and answered 401, or 429 past that bucket, and rings nobody. Authenticated presses have a bucket of
 * their own, so no amount of unauthenticated traffic can keep the real doorbell from ringing.
 */
import type { HttpReply, HttpRequest, HttpServer } from "../http/server.ts";
import type { Logger } from "../util/logger.ts";
import { LogOnce } from "./log-once.ts";
import { clientKey, KeyedBuckets, TokenBucket, type Verdict } from "./rate-limit.ts";
import type { PressResult } from "./ring-policy.ts";
import { bearerTokenMatches } from "./token.ts";

export const RING_PATH = "/ring/";
export const MAX_WEBHOOK_BODY_BYTES = 4096;

export interface WebhookOptions {
  token: string;
  rateLimit: { burst: number; perMinute: number };
}

function json(status: number, body: Record<string, unknown>, headers?: Record<string, string>): HttpReply {
  return { status, contentType: "application/json", body: JSON.stringify(body) + "\n", ...(headers !== undefined ? { headers } : {}) };
}

function tooMany(limit: Extract<Verdict, { ok: false }>): HttpReply {
  return json(429, { error: "too many requests" }, { "retry-after": String(Math.max(1, Math.ceil(limit.retryAfterMs / 1000))) });
}

export class WebhookTrigger {
  /** Failed requests (no or wrong token), per client. */
  private readonly failures: KeyedBuckets;
  /** Authenticated requests, everyone together: four times a client's. */
  private readonly presses: TokenBucket;
  private readonly logOnce: LogOnce;
  private stopped = false;

  constructor(
    private readonly opts: WebhookOptions,
    private readonly press: (camera: string, source: string) => PressResult,
    private readonly log: Logger,
  ) {
    this.failures = new KeyedBuckets(opts.rateLimit);
    this.presses = new TokenBucket(opts.rateLimit.burst * 4, (opts.rateLimit.perMinute * 4) / 60_000, Date.now);
    this.logOnce = new LogOnce(log);
  }

  attach(http: HttpServer): void {
    http.route("POST", RING_PATH, (req) => this.handle(req), MAX_WEBHOOK_BODY_BYTES);
  }

  stop(): void {
    this.stopped = true;
  }

  handle(req: HttpRequest): HttpReply {
    if (this.stopped) return json(503, { error: "stopping" });
    const client = clientKey(req.remoteAddress);
    // Log keys are kinds, not addresses: rotating addresses must not buy one warn line per request.
    if (!bearerTokenMatches(req.headers.authorization, this.opts.token)) {
      const limit = this.failures.check(client);
      if (!limit.ok) {
        this.logOnce.warn("429 unauthenticated", { client }, "doorbell webhook: too many requests without the right token");
        return tooMany(limit);
      }
      this.logOnce.warn("401", { client }, "doorbell webhook: missing or wrong token");
      return json(401, { error: "unauthorized" }, { "www-authenticate": 'Bearer realm="doorbell"' });
    }
    const limit = this.presses.check();
    if (!limit.ok) {
      this.logOnce.warn("429 authenticated", { client }, "doorbell webhook: too many requests");
      return tooMany(limit);
    }
    const camera = req.path.slice(RING_PATH.length);
    const result = /^[a-z0-9][a-z0-9_-]{0,31}$/.test(camera) ? this.press(camera, "webhook") : "not_a_doorbell";
    switch (result) {
      case "not_a_doorbell":
        return json(404, { error: "no such doorbell" });
      case "stopped":
        return json(503, { error: "stopping" });
      case "limited":
        return json(429, { error: "too many rings", camera });
      case "debounced":
        return json(200, { status: "debounced", camera });
      case "ringing":
        this.log.info({ camera, client }, "doorbell webhook pressed");
        return json(202, { status: "ringing", camera });
    }
  }
}
