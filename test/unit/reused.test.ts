/**
 * Reused (src/util/reused.ts): an answer is used while fresh, asked again once it is not, one request at a time,
 * a failure is not kept, forget() drops it. And its two uses: the homeserver's /versions (RtcRoomApi) and the
 * bot's OpenID token (rtc-call-steps.ts), asked once for several calls; a refused exchange asks afresh.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { HomeserverSteps } from "../../src/matrixrtc/rtc-call-steps.ts";
import { RtcRoomApi, VERSIONS_REUSED_MS } from "../../src/matrixrtc/rtc-room-api.ts";
import { Reused } from "../../src/util/reused.ts";

/** The bot's steps on homeserver "hs", every request answered by `fetchImpl`. */
function botSteps(fetchImpl: typeof fetch, configured?: string): HomeserverSteps {
  return new HomeserverSteps({
    homeserverUrl: "http://hs",
    accessToken: "secret",
    userId: "@bot:hs",
    deviceId: "D",
    fetch: fetchImpl,
    ...(configured !== undefined ? { configured } : {}),
  });
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Reused", () => {
  it("uses an answer while fresh and asks again once it is not", async () => {
    let now = 1_000;
    let asked = 0;
    const reused = new Reused(
      () => Promise.resolve(++asked),
      () => 500,
      () => now,
    );
    expect(await reused.get()).toBe(1);
    now += 499;
    expect(await reused.get()).toBe(1);
    now += 1;
    expect(await reused.get()).toBe(2);
    expect(asked).toBe(2);
  });

  it("makes one request for callers that come while it is on its way", async () => {
    let asked = 0;
    let answer = (_: number): void => undefined;
    const reused = new Reused(
      () =>
        new Promise<number>((resolve) => {
          asked++;
          answer = resolve;
        }),
      () => 60_000,
    );
    const both = Promise.all([reused.get(), reused.get()]);
    answer(7);
    expect(await both).toEqual([7, 7]);
    expect(asked).toBe(1);
  });

  it("keeps no failure, and forget() drops the answer", async () => {
    let asked = 0;
    const reused = new Reused(
      () => (++asked === 1 ? Promise.reject(new Error("down")) : Promise.resolve(asked)),
      () => 60_000,
    );
    await expect(reused.get()).rejects.toThrow("down");
    expect(await reused.get()).toBe(2);
    expect(await reused.get()).toBe(2);
    reused.forget();
    expect(await reused.get()).toBe(3);
  });
});

describe("Reused answers on a call's way to the ring", () => {
  it("RtcRoomApi asks /versions once for many calls, and again after VERSIONS_REUSED_MS", async () => {
    vi.useFakeTimers();
    const asked: string[] = [];
    const api = new RtcRoomApi((method, endpoint) => {
      asked.push(`${method} ${endpoint}`);
      return Promise.resolve({ versions: ["v1.11"], unstable_features: { "org.matrix.msc4140": true } });
    });
    expect(await Promise.all([api.delayedEventsOffered(), api.delayedEventsOffered()])).toEqual([true, true]);
    expect(await api.delayedEventsOffered()).toBe(true);
    expect(asked).toEqual(["GET /_matrix/client/versions"]);
    vi.advanceTimersByTime(VERSIONS_REUSED_MS);
    expect(await api.delayedEventsOffered()).toBe(true);
    expect(asked).toHaveLength(2);
  });

  it("the steps reuse the focus and the OpenID token between calls; a refused exchange asks afresh for both", async () => {
    const asked: string[] = [];
    let refuse = false;
    const fetchImpl = ((input: string | URL | Request) => {
      const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
      asked.push(url.pathname);
      const json = (body: unknown, status = 200): Promise<Response> => Promise.resolve(new Response(JSON.stringify(body), { status }));
      if (url.pathname.endsWith("/rtc/transports"))
        return json({ rtc_transports: [{ type: "livekit", livekit_service_url: "https://focus.example" }] });
      if (url.pathname === "/sfu/get") return refuse ? json({ errcode: "M_FORBIDDEN" }, 403) : json({ url: "wss://lk.example", jwt: "j" });
      return json({ access_token: "o", token_type: "Bearer", matrix_server_name: "hs", expires_in: 3600 });
    }) as typeof fetch;
    const home = botSteps(fetchImpl);
    const call = async (roomId: string): Promise<void> => {
      const steps = home.forRoom(roomId);
      await steps.token(await steps.focus());
    };
    await call("!a:hs");
    const firstCall = [...asked];
    expect(firstCall.filter((p) => p === "/sfu/get")).toHaveLength(1);
    expect(firstCall.length).toBeGreaterThanOrEqual(3);
    asked.length = 0;
    await call("!b:hs");
    // The second call only exchanges the kept OpenID token at the kept focus.
    expect(asked).toEqual(["/sfu/get"]);
    refuse = true;
    asked.length = 0;
    await expect(call("!c:hs")).rejects.toThrow(/refused a LiveKit token: 403/);
    refuse = false;
    asked.length = 0;
    await call("!d:hs");
    expect(asked).toEqual(firstCall);

    // A caller's focus that refuses the bot (joinSteps tries it first) leaves the kept focus and token alone.
    asked.length = 0;
    refuse = true;
    const callers = { type: "livekit", livekitServiceUrl: "https://callers.example", source: "membership" } as const;
    await expect(home.forRoom("!e:hs").token(callers)).rejects.toThrow(/refused a LiveKit token: 403/);
    refuse = false;
    asked.length = 0;
    await call("!f:hs");
    expect(asked).toEqual(["/sfu/get"]);
  });

  it("the OpenID token is asked anew once half its life has passed", async () => {
    vi.useFakeTimers();
    let tokens = 0;
    const fetchImpl = ((input: string | URL | Request) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const body = url.endsWith("/sfu/get")
        ? { url: "wss://lk.example", jwt: "j" }
        : { access_token: `o${String(++tokens)}`, token_type: "Bearer", matrix_server_name: "hs", expires_in: 3600 };
      return Promise.resolve(new Response(JSON.stringify(body), { status: 200 }));
    }) as typeof fetch;
    const home = botSteps(fetchImpl, "https://focus.example");
    const steps = home.forRoom("!a:hs");
    await steps.token(await steps.focus());
    vi.advanceTimersByTime(1_799_000);
    await steps.token(await steps.focus());
    expect(tokens).toBe(1);
    vi.advanceTimersByTime(1_000);
    await steps.token(await steps.focus());
    expect(tokens).toBe(2);
  });
});
