/** TurnCredentials with an injected fetch and clock. */
import { describe, expect, it, vi } from "vitest";
import { TurnCredentials, type TurnFetcher } from "../../src/rtc/turn.ts";
import { createLogger } from "../../src/util/logger.ts";

const FULL = {
  username: "1700000000:@camera:example.org",
  password: "TURN-S3CRET-CREDENTIAL",
  uris: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"],
  ttl: 3600,
};

function setup(fetchTurn: TurnFetcher): { turn: TurnCredentials; fetch: ReturnType<typeof vi.fn>; clock: { now: number }; logs: string[] } {
  const logs: string[] = [];
  const log = createLogger({ level: "trace", destination: { write: (s: string) => void logs.push(s) } });
  const clock = { now: 1_700_000_000_000 };
  const fetch = vi.fn(fetchTurn);
  const turn = new TurnCredentials(fetch, log, () => clock.now);
  return { turn, fetch, clock, logs };
}

/** A promise with its resolve/reject handed out. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A fetcher that answers with these replies in turn (then the last one again). */
function inTurn(...replies: Promise<unknown>[]): TurnFetcher {
  let i = 0;
  return () => replies[Math.min(i++, replies.length - 1)] ?? Promise.resolve({});
}

/** Lets every promise chain that can settle do so (a refresh behind a call). */
function settled(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe("TurnCredentials", () => {
  it("maps a full response to one RTCIceServer", async () => {
    const { turn, fetch } = setup(() => Promise.resolve(FULL));
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: FULL.username, credential: FULL.password }]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("ignores extra fields in the response", async () => {
    const { turn } = setup(() => Promise.resolve({ ...FULL, extra: true }));
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: FULL.username, credential: FULL.password }]);
  });

  // `{}` is what a homeserver without TURN answers (asked again after 10 minutes: below).
  it("{} (no TURN on the homeserver) means no servers", async () => {
    const { turn, fetch } = setup(() => Promise.resolve({}));
    expect(await turn.iceServers()).toEqual([]);
    expect(await turn.iceServers()).toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "turn:x"],
    ["uris not a list", { ...FULL, uris: "turn:turn.example.org" }],
    ["empty uris", { ...FULL, uris: [] }],
    ["no password", { uris: FULL.uris, username: "u", ttl: 60 }],
    ["a negative ttl", { ...FULL, ttl: -1 }],
    ["a ttl that is a string", { ...FULL, ttl: "3600" }],
  ])("a malformed response (%s) means no servers, asked again after a minute", async (_label, response) => {
    const { turn, fetch, clock, logs } = setup(() => Promise.resolve(response));
    expect(await turn.iceServers()).toEqual([]);
    expect(logs.some((l) => l.includes("malformed TURN response"))).toBe(true);
    clock.now += 59_999;
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(1);
    clock.now += 1;
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("refreshes once 80 % of the ttl has passed, not before", async () => {
    const { turn, fetch, clock } = setup(() => Promise.resolve(FULL));
    await turn.iceServers();
    const eighty = FULL.ttl * 1000 * 0.8;
    clock.now += eighty - 1;
    await turn.iceServers();
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(1);
    clock.now += 1;
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(2);
    await settled();
    // And the next window starts from the refresh.
    clock.now += eighty - 1;
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("between 80 % and 100 % of the ttl a call gets the credentials held at once; the refresh runs behind it", async () => {
    const next = deferred<unknown>();
    const { turn, fetch, clock } = setup(inTurn(Promise.resolve(FULL), next.promise));
    await turn.iceServers();
    clock.now += FULL.ttl * 1000 - 1;
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: FULL.username, credential: FULL.password }]);
    expect(fetch).toHaveBeenCalledTimes(2);
    next.resolve({ ...FULL, username: "fresh" });
    await settled();
    expect((await turn.iceServers())[0]?.username).toBe("fresh");
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("past the ttl a call waits for the refresh (expired credentials are not handed out)", async () => {
    const next = deferred<unknown>();
    const { turn, clock } = setup(inTurn(Promise.resolve(FULL), next.promise));
    await turn.iceServers();
    clock.now += FULL.ttl * 1000;
    let got: RTCIceServer[] | undefined;
    const call = turn.iceServers().then((s) => (got = s));
    await settled();
    expect(got).toBeUndefined();
    next.resolve({ ...FULL, username: "fresh" });
    await call;
    expect(got?.[0]?.username).toBe("fresh");
  });

  it("without TURN on the homeserver, a call after the 10-minute re-ask does not wait for it", async () => {
    const next = deferred<unknown>();
    const { turn, fetch, clock } = setup(inTurn(Promise.resolve({}), next.promise));
    expect(await turn.iceServers()).toEqual([]);
    clock.now += 10 * 60_000;
    expect(await turn.iceServers()).toEqual([]);
    expect(fetch).toHaveBeenCalledTimes(2);
    next.resolve(FULL);
    await settled();
    expect(await turn.iceServers()).toHaveLength(1);
  });

  it("warm() fetches ahead: the first call takes what it fetched", async () => {
    const { turn, fetch } = setup(() => Promise.resolve(FULL));
    turn.warm();
    expect(fetch).toHaveBeenCalledTimes(1);
    await settled();
    expect(await turn.iceServers()).toHaveLength(1);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it("a refresh replaces the credentials", async () => {
    let n = 0;
    const { turn, clock } = setup(() => {
      n++;
      return Promise.resolve({ ...FULL, username: `user-${n}`, password: `pw-${n}` });
    });
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: "user-1", credential: "pw-1" }]);
    clock.now += FULL.ttl * 1000;
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: "user-2", credential: "pw-2" }]);
  });

  it("concurrent calls share one fetch", async () => {
    const pending = deferred<unknown>();
    const { turn, fetch } = setup(() => pending.promise);
    const calls = [turn.iceServers(), turn.iceServers(), turn.iceServers()];
    expect(fetch).toHaveBeenCalledTimes(1);
    pending.resolve(FULL);
    const results = await Promise.all(calls);
    expect(fetch).toHaveBeenCalledTimes(1);
    for (const r of results) expect(r).toEqual([{ urls: FULL.uris, username: FULL.username, credential: FULL.password }]);
  });

  it("a new fetch can start once the shared one has finished", async () => {
    const { turn, fetch, clock } = setup(() => Promise.resolve(FULL));
    await Promise.all([turn.iceServers(), turn.iceServers()]);
    clock.now += FULL.ttl * 1000;
    await Promise.all([turn.iceServers(), turn.iceServers()]);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("a 403 stops all further fetching", async () => {
    const { turn, fetch, clock, logs } = setup(() => Promise.reject(Object.assign(new Error("M_FORBIDDEN"), { statusCode: 403 })));
    expect(await turn.iceServers()).toEqual([]);
    clock.now += 24 * 3600_000;
    expect(await turn.iceServers()).toEqual([]);
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(logs.some((l) => l.includes('"status":403'))).toBe(true);
  });

  it("another error is retried after a minute", async () => {
    let fail = true;
    const { turn, fetch, clock } = setup(() =>
      fail ? Promise.reject(Object.assign(new Error("bad gateway"), { statusCode: 502 })) : Promise.resolve(FULL),
    );
    expect(await turn.iceServers()).toEqual([]);
    clock.now += 59_999;
    await turn.iceServers();
    expect(fetch).toHaveBeenCalledTimes(1);
    fail = false;
    clock.now += 1;
    expect(await turn.iceServers()).toHaveLength(1);
    expect(fetch).toHaveBeenCalledTimes(2);
  });

  it("a failed refresh keeps the credentials it had (still inside their ttl)", async () => {
    let fail = false;
    const { turn, clock } = setup(() => (fail ? Promise.reject(new Error("network down")) : Promise.resolve(FULL)));
    await turn.iceServers();
    fail = true;
    clock.now += FULL.ttl * 800;
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: FULL.username, credential: FULL.password }]);
    await settled();
    expect(await turn.iceServers()).toEqual([{ urls: FULL.uris, username: FULL.username, credential: FULL.password }]);
  });

  it("credentials past their ttl are not handed out, even when the refresh failed", async () => {
    let fail = false;
    const { turn, clock } = setup(() => (fail ? Promise.reject(new Error("network down")) : Promise.resolve(FULL)));
    await turn.iceServers();
    fail = true;
    clock.now += FULL.ttl * 1000;
    expect(await turn.iceServers()).toEqual([]);
    expect(await turn.iceServers()).toEqual([]);
  });

  it("a rejection without a reason is handled like a failed fetch", async () => {
    // The point of the test: a rejection whose reason is not an Error (nothing to read a status from).
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const { turn, logs } = setup(() => Promise.reject(undefined));
    expect(await turn.iceServers()).toEqual([]);
    expect(logs.some((l) => l.includes("could not fetch TURN credentials"))).toBe(true);
  });

  it("a fetcher that throws synchronously is handled like a failed fetch", async () => {
    const { turn, logs } = setup(() => {
      throw new Error("no client");
    });
    expect(await turn.iceServers()).toEqual([]);
    expect(logs.some((l) => l.includes("could not fetch TURN credentials"))).toBe(true);
  });

  it("never logs the TURN password", async () => {
    const { turn, clock, logs } = setup(() => Promise.resolve(FULL));
    await turn.iceServers();
    clock.now += FULL.ttl * 1000;
    await turn.iceServers();
    expect(logs.length).toBeGreaterThan(0);
    for (const line of logs) expect(line).not.toContain(FULL.password);
  });
});
