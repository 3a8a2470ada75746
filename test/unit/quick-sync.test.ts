import type { MatrixClient } from "matrix-bot-sdk";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { waitFor } from "../harness/wait.ts";
import {
  FIRST_SYNC_GRACE_MS,
  isTransientSyncError,
  quickSyncClient,
  SYNC_RETRY_MS,
  SyncStatus,
  syncRetryDelayMs,
} from "../../src/matrix/quick-sync.ts";

const quiet = pino({ level: "silent" });

describe("quick sync retries", () => {
  it("retries unreachable, 5xx and 429; not 4xx", () => {
    expect(isTransientSyncError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(true);
    expect(isTransientSyncError({ statusCode: 502 })).toBe(true);
    expect(isTransientSyncError({ statusCode: 429 })).toBe(true);
    expect(isTransientSyncError({ statusCode: 401 })).toBe(false);
    expect(isTransientSyncError({ statusCode: 404 })).toBe(false);
    expect(isTransientSyncError(undefined)).toBe(true);
  });

  it("waits 0.25, 0.5, 1, then 2 s (±25 %), or the server's retry_after_ms up to 10 s", () => {
    const mid = (): number => 0.5;
    expect([0, 1, 2, 3, 4, 50].map((a) => syncRetryDelayMs(new Error("x"), a, mid))).toEqual([250, 500, 1000, 2000, 2000, 2000]);
    expect(syncRetryDelayMs(new Error("x"), 9, () => 0)).toBe(1500);
    expect(syncRetryDelayMs(new Error("x"), 9, () => 0.999999)).toBe(2500);
    expect(syncRetryDelayMs({ statusCode: 429, body: { retry_after_ms: 3000 } }, 0)).toBe(3000);
    expect(syncRetryDelayMs({ statusCode: 429, body: { retry_after_ms: 999_999 } }, 0)).toBe(10_000);
    expect(SYNC_RETRY_MS.at(-1)).toBe(2000);
  });

  it("a failing sync is retried inside doSync until it works; stop() ends the retries", async () => {
    let failures = 2;
    let calls = 0;
    class FakeBase {
      stopped = false;
      start(): Promise<unknown> {
        return Promise.resolve();
      }
      stop(): void {
        this.stopped = true;
      }
      doSync(): Promise<unknown> {
        calls++;
        if (failures-- > 0) return Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }));
        return Promise.resolve({ next_batch: "s2" });
      }
    }
    const Client = quickSyncClient(FakeBase as unknown as typeof MatrixClient, quiet);
    const client = new Client("http://127.0.0.1:1", "token") as unknown as { doSync(t: string): Promise<unknown>; stop(): void };
    const started = Date.now();
    await expect(client.doSync("s1")).resolves.toEqual({ next_batch: "s2" });
    expect(calls).toBe(3);
    // Two waits: about 0.25 and 0.5 s.
    expect(Date.now() - started).toBeLessThan(2000);

    failures = 1000;
    const pending = client.doSync("s2");
    client.stop();
    await expect(pending).rejects.toThrow(/ECONNREFUSED/);
  });

  it("a 401 goes to the SDK's own loop at once", async () => {
    class FakeBase {
      stop(): void {
        /* nothing to stop */
      }
      doSync(): Promise<unknown> {
        return Promise.reject(Object.assign(new Error("M_UNKNOWN_TOKEN"), { statusCode: 401 }));
      }
    }
    const Client = quickSyncClient(FakeBase as unknown as typeof MatrixClient, quiet);
    const client = new Client("http://127.0.0.1:1", "token") as unknown as { doSync(t: string): Promise<unknown> };
    await expect(client.doSync("s1")).rejects.toThrow(/M_UNKNOWN_TOKEN/);
  });

  it("the sync loop is flat: each response processed in order with the token saved, ended by stop()", async () => {
    const processed: string[] = [];
    const saved: (string | null)[] = [];
    let n = 0;
    const holder: { client?: { stop(): void } } = {};
    class FakeBase {
      protected persistTokenAfterSync = false;
      get storageProvider(): { getSyncToken(): string | null; setSyncToken(t: string | null): void } {
        return { getSyncToken: () => "s0", setSyncToken: (t) => void saved.push(t) };
      }
      start(): Promise<unknown> {
        return (this as unknown as { startSync(): Promise<void> }).startSync();
      }
      stop(): void {
        /* the subclass keeps its own flag */
      }
      doSync(token: string): Promise<unknown> {
        n++;
        if (n === 3) return Promise.reject(Object.assign(new Error("gateway"), { statusCode: 502 }));
        return Promise.resolve({ next_batch: `${token}+`, n });
      }
      processSync(raw: { n: number }): Promise<void> {
        processed.push(String(raw.n));
        if (processed.length === 4) holder.client?.stop();
        return Promise.resolve();
      }
    }
    const Client = quickSyncClient(FakeBase as unknown as typeof MatrixClient, quiet);
    const c = new Client("http://127.0.0.1:1", "token") as unknown as { start(): Promise<unknown>; stop(): void };
    holder.client = c;
    await c.start();
    await waitFor("four syncs processed and the loop stopped", () => processed.length === 4 && n === 5);
    // The failed third request was retried at once (a 502), inside the same turn of the loop.
    expect(processed).toEqual(["1", "2", "4", "5"]);
    expect(saved).toEqual(["s0+", "s0++", "s0+++", "s0++++"]);
  });
});

describe("SyncStatus", () => {
  it("the first sync fails at once on a non-transient error, and after FIRST_SYNC_GRACE_MS of transient ones", async () => {
    const rejected = new SyncStatus();
    rejected.failed({ statusCode: 403 }, false, 1000);
    await expect(rejected.first).rejects.toEqual({ statusCode: 403 });

    const transient = new SyncStatus();
    transient.failed({ statusCode: 502 }, true, 1000);
    transient.failed({ statusCode: 502 }, true, 1000 + FIRST_SYNC_GRACE_MS - 1);
    expect(transient.failingSince).toBe(1000);
    const outcome = await Promise.race([
      transient.first.then(
        () => "resolved",
        () => "rejected",
      ),
      Promise.resolve("pending"),
    ]);
    expect(outcome).toBe("pending");
    transient.failed({ statusCode: 502 }, true, 1000 + FIRST_SYNC_GRACE_MS);
    await expect(transient.first).rejects.toEqual({ statusCode: 502 });
  });

  it("once a sync worked, later failures only mark the homeserver unreachable until the next success", async () => {
    const status = new SyncStatus();
    status.ok();
    await expect(status.first).resolves.toBeUndefined();
    status.failed({ statusCode: 401 }, false, 5);
    expect(status.failingSince).toBe(5);
    status.ok();
    expect(status.failingSince).toBeUndefined();
  });
});
