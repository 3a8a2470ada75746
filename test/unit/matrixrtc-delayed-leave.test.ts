/**
 * The delayed leave's decisions (src/matrixrtc/delayed-leave.ts, src/matrixrtc/rtc-room-api.ts) with a scripted
 * request function: not offered → nothing scheduled; offered → PUT {} with the delay, restarted on its interval;
 * the homeserver saying the delayed event is gone → onLost; the older action-body endpoint where the per-action one
 * is not routed. The real run against Synapse is test/e2e/matrixrtc-call.test.ts.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DelayedLeave } from "../../src/matrixrtc/delayed-leave.ts";
import { RtcRoomApi, type DoRequest } from "../../src/matrixrtc/rtc-room-api.ts";

const log = pino({ level: "silent" });
type Call = { method: string; endpoint: string; qs: Record<string, unknown> | null | undefined; body: unknown };

/** A request function answering by endpoint; an answer that is an Error-like object is thrown. */
function scripted(answer: (call: Call) => unknown): { doRequest: DoRequest; calls: Call[] } {
  const calls: Call[] = [];
  const doRequest: DoRequest = (method, endpoint, qs, body) => {
    const call = { method, endpoint, qs, body };
    calls.push(call);
    const result = answer(call);
    return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
  };
  return { doRequest, calls };
}

function matrixError(statusCode: number, errcode: string): Error {
  return Object.assign(new Error(errcode), { statusCode, errcode });
}

const VERSIONS_ON = { versions: ["v1.11"], unstable_features: { "org.matrix.msc4140": true } };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("DelayedLeave", () => {
  it("schedules nothing where /versions does not offer org.matrix.msc4140", async () => {
    const { doRequest, calls } = scripted(() => ({ versions: ["v1.11"], unstable_features: { "org.matrix.msc4140": false } }));
    const leave = new DelayedLeave(new RtcRoomApi(doRequest), "!r:hs", "_@b:hs_D_m.call", log);
    expect(await leave.arm()).toBe(false);
    expect(leave.armed).toBe(false);
    expect(await leave.sendNow()).toBe(false);
    expect(calls.map((c) => c.endpoint)).toEqual(["/_matrix/client/versions"]);
  });

  it("PUTs {} with the delay, restarts it on its interval, and sends it now at the end", async () => {
    const { doRequest, calls } = scripted((c) =>
      c.endpoint === "/_matrix/client/versions" ? VERSIONS_ON : c.method === "PUT" ? { delay_id: "d1" } : {},
    );
    const leave = new DelayedLeave(new RtcRoomApi(doRequest), "!r:hs", "_@b:hs_D_m.call", log, { delayMs: 8_000, restartMs: 5_000 });
    expect(await leave.arm()).toBe(true);
    expect(calls[1]).toEqual({
      method: "PUT",
      endpoint: "/_matrix/client/v3/rooms/!r%3Ahs/state/org.matrix.msc3401.call.member/_%40b%3Ahs_D_m.call",
      qs: { "org.matrix.msc4140.delay": 8_000 },
      body: {},
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.filter((c) => c.endpoint.endsWith("/d1/restart"))).toHaveLength(2);
    expect(await leave.sendNow()).toBe(true);
    expect(calls.at(-1)?.endpoint).toBe("/_matrix/client/unstable/org.matrix.msc4140/delayed_events/d1/send");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.filter((c) => c.endpoint.endsWith("/d1/restart"))).toHaveLength(2);
  });

  it("reports the leave lost when the homeserver no longer knows the delayed event", async () => {
    const lost: string[] = [];
    const { doRequest } = scripted((c) =>
      c.endpoint === "/_matrix/client/versions" ? VERSIONS_ON : c.method === "PUT" ? { delay_id: "d2" } : matrixError(404, "M_NOT_FOUND"),
    );
    const leave = new DelayedLeave(new RtcRoomApi(doRequest), "!r:hs", "k", log, { onLost: (r) => lost.push(r) });
    await leave.arm();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(lost).toHaveLength(1);
    expect(leave.armed).toBe(false);
  });

  it("falls back to the older {action} endpoint where the per-action one is not routed", async () => {
    const { doRequest, calls } = scripted((c) =>
      c.endpoint.endsWith("/restart")
        ? matrixError(404, "M_UNRECOGNIZED")
        : c.endpoint === "/_matrix/client/versions"
          ? VERSIONS_ON
          : c.method === "PUT"
            ? { delay_id: "d3" }
            : {},
    );
    const leave = new DelayedLeave(new RtcRoomApi(doRequest), "!r:hs", "k", log);
    await leave.arm();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls.at(-1)).toMatchObject({
      method: "POST",
      endpoint: "/_matrix/client/unstable/org.matrix.msc4140/delayed_events/d3",
      body: { action: "restart" },
    });
    await leave.cancel();
  });
});
