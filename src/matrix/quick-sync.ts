/**
 * matrix-bot-sdk's sync loop (0.8.0), fixed in a subclass for a bot that runs for months:
 *
 * - It waits a random 5–15 s after every failed /sync. A homeserver restart takes a couple of
 *   seconds, so the bot stayed deaf (commands, answers, hangups unseen) for up to 15 s after the
 *   homeserver was back. Here a failed sync request is retried soon and with a small cap (0.25, 0.5,
 *   1, then every 2 s, ±25 %) while the homeserver is unreachable or answers 5xx/429; other errors
 *   (e.g. 401) wait the SDK's 5–15 s. One line is logged when syncing stops working and one when it
 *   works again.
 * - Its loop is an async function that returns a call of itself, so every sync links one more
 *   pending promise into a chain that is never released (heap snapshots of the bot: about 2
 *   objects per sync, for ever; an idle bot syncs every 30 s). Here the loop is a plain `while`.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { z } from "zod";
import { type Logger } from "../util/logger.ts";

/** What the loop needs of a /sync response (the SDK's processSync reads the rest). */
const syncResponseSchema = z.object({ next_batch: z.string() }).loose();
/** After an error that is not worth a quick retry: the SDK's own wait, 5–15 s. */
const SLOW_RETRY_MIN_MS = 5_000;
const SLOW_RETRY_SPAN_MS = 10_000;

type EmitFn = (emitEventType: string, ...payload: unknown[]) => Promise<unknown>;

/** The waits between quick retries (ms); the last one repeats. */
export const SYNC_RETRY_MS = [250, 500, 1000, 2000] as const;
/** The longest server-requested wait (retry_after_ms) honoured before retrying. */
const MAX_RETRY_AFTER_MS = 10_000;

function statusOf(err: unknown): number | undefined {
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

/** Unreachable (no HTTP status), a server error or a rate limit: worth a quick retry. */
export function isTransientSyncError(err: unknown): boolean {
  const status = statusOf(err);
  return status === undefined || status === 429 || status >= 500;
}

/** How long to wait before retry number `attempt` (0-based): the server's retry_after_ms, else the schedule with jitter. */
export function syncRetryDelayMs(err: unknown, attempt: number, random: () => number = Math.random): number {
  const body = (err as { body?: { retry_after_ms?: unknown } } | null)?.body;
  if (statusOf(err) === 429 && typeof body?.retry_after_ms === "number")
    return Math.min(Math.max(0, body.retry_after_ms), MAX_RETRY_AFTER_MS);
  const base = SYNC_RETRY_MS[Math.min(attempt, SYNC_RETRY_MS.length - 1)] ?? 2000;
  return Math.round(base * (0.75 + random() * 0.5));
}

type ClientClass = typeof MatrixClient;

/** Transient failures of the very first sync tolerated this long before the start counts as failed. */
export const FIRST_SYNC_GRACE_MS = 5000;

/**
 * How syncing goes, for the start (the first sync must work: a bot that logged in but cannot sync answers
 * nothing) and for /healthz (since when the homeserver has been unreachable).
 */
export class SyncStatus {
  /** When the current run of failed syncs began; undefined while syncing works. */
  failingSince: number | undefined;
  /** Settles with the first sync: resolves when it worked, rejects when it failed for good (see {@link failed}). */
  readonly first: Promise<void>;
  private synced = false;
  private settleFirst: { resolve: () => void; reject: (err: unknown) => void } | undefined;

  constructor() {
    this.first = new Promise<void>((resolve, reject) => {
      this.settleFirst = { resolve, reject };
    });
    this.first.catch(() => undefined); // read by whoever awaits it; never an unhandled rejection
  }

  /** Whether a sync has worked yet. */
  get hasSynced(): boolean {
    return this.synced;
  }

  ok(): void {
    this.failingSince = undefined;
    if (this.synced) return;
    this.synced = true;
    this.settleFirst?.resolve();
  }

  /** A sync failed: before the first success, a non-transient error, or transient ones for FIRST_SYNC_GRACE_MS, fail the start. */
  failed(err: unknown, transient: boolean, now = Date.now()): void {
    this.failingSince ??= now;
    if (!this.synced && (!transient || now - this.failingSince >= FIRST_SYNC_GRACE_MS)) this.settleFirst?.reject(err);
  }
}

/** A MatrixClient class whose sync recovers within about 2 s of the homeserver coming back, and whose loop does not grow. */
export function quickSyncClient(Base: ClientClass, log: Logger, status = new SyncStatus()): ClientClass {
  class QuickSyncClient extends Base {
    private quickStopped = false;
    private wake: (() => void) | undefined;
    private loops = 0;

    override start(filter?: unknown): Promise<unknown> {
      this.quickStopped = false;
      return super.start(filter);
    }

    override stop(): void {
      this.quickStopped = true;
      this.wake?.();
      super.stop();
    }

    /** The SDK's startSync, as a flat loop: starts it and resolves at once, as the SDK's does. */
    protected override startSync(emitFn?: EmitFn): Promise<void> {
      // A loop left over from before a stop() and start() ends instead of running beside this one.
      this.loops++;
      void this.syncLoop(emitFn, this.loops);
      return Promise.resolve();
    }

    private async syncLoop(emitFn: EmitFn | undefined, loop: number): Promise<void> {
      const storage = this.storageProvider;
      let token = (await Promise.resolve(storage.getSyncToken())) ?? undefined;
      while (!this.isStopped() && loop === this.loops) {
        try {
          const response = syncResponseSchema.parse(await this.doSync(token ?? ""));
          token = response.next_batch;
          if (!this.persistTokenAfterSync) await Promise.resolve(storage.setSyncToken(token));
          await this.processSync(response, emitFn);
          if (this.persistTokenAfterSync) await Promise.resolve(storage.setSyncToken(token));
        } catch (err: unknown) {
          if (this.isStopped()) break;
          log.error({ err }, "sync failed; trying again in a few seconds");
          await this.pause(SLOW_RETRY_MIN_MS + Math.random() * SLOW_RETRY_SPAN_MS);
        }
      }
      log.info("sync stopped");
    }

    protected override async doSync(token: string): Promise<unknown> {
      for (let attempt = 0; ; attempt++) {
        try {
          const response: unknown = await super.doSync(token);
          if (status.failingSince !== undefined)
            log.info({ downMs: Date.now() - status.failingSince }, "syncing with the homeserver again");
          if (!status.hasSynced) log.info("first sync with the homeserver done");
          status.ok();
          return response;
        } catch (err: unknown) {
          if (this.isStopped()) throw err;
          const transient = isTransientSyncError(err);
          if (status.failingSince === undefined && transient)
            log.warn({ err, status: statusOf(err) }, "cannot sync with the homeserver; retrying every few seconds at most");
          status.failed(err, transient);
          if (!transient) throw err;
          await this.pause(syncRetryDelayMs(err, attempt));
          if (this.isStopped()) throw err;
        }
      }
    }

    private isStopped(): boolean {
      return this.quickStopped;
    }

    /** Waits `ms`, or less if the client is stopped meanwhile. */
    private pause(ms: number): Promise<void> {
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        this.wake = done;
      });
    }
  }
  return QuickSyncClient;
}
