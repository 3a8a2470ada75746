/**
 * RoomPresence's `settled` (src/matrixrtc/room-presence.ts) with a request function the test answers by hand: it
 * comes when exit() has finished, and after an abandoned exit only once the held requests have ended and the delayed
 * leave's delay has passed (the homeserver's turn to send it), or at the cap. The real run against Synapse, through
 * RtcCalls, is in test/e2e/matrixrtc-call.test.ts.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LiveKitFocus } from "../../src/matrixrtc/focus.ts";
import { RoomPresence, SETTLE_CAP_MS } from "../../src/matrixrtc/room-presence.ts";
import { RtcRoomApi, type DoRequest } from "../../src/matrixrtc/rtc-room-api.ts";

const log = pino({ level: "silent" });
const VERSIONS_ON = { versions: ["v1.11"], unstable_features: { "org.matrix.msc4140": true } };
const FOCUS: LiveKitFocus = { type: "livekit", livekitServiceUrl: "https://lk.example", source: "config" };
const WHERE = { roomId: "!r:hs", userId: "@bot:hs", deviceId: "D" };

/**
 * Answers every request at once, except a delayed-leave "send", which waits until release() (as a hung homeserver)
 * and then succeeds, or fails with a 502 when `failSend` is set.
 */
function holdingSend(opts: { failSend?: boolean } = {}): { doRequest: DoRequest; release: () => void; sent: string[] } {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sent: string[] = [];
  const doRequest: DoRequest = async (method, endpoint) => {
    sent.push(`${method} ${endpoint}`);
    if (endpoint === "/_matrix/client/versions") return VERSIONS_ON;
    if (endpoint.endsWith("/send")) {
      await held;
      if (opts.failSend === true) throw Object.assign(new Error("bad gateway"), { statusCode: 502 });
    }
    if (method === "PUT") return endpoint.includes("call.member") ? { event_id: "$e", delay_id: "d1" } : { event_id: "$e" };
    return {};
  };
  return {
    doRequest,
    release: () => {
      release();
    },
    sent,
  };
}

/** The direct PUTs of `{}` (and memberships) made after the first `n` requests. */
function statePutsAfter(sent: string[], n: number): string[] {
  return sent.slice(n).filter((r) => r.startsWith("PUT ") && r.includes("call.member"));
}

function settledYet(presence: RoomPresence): () => boolean {
  let settled = false;
  void presence.settled.then(() => (settled = true));
  return () => settled;
}

/** The end gives up (abandon()) while the leave's send is on its way, as RtcCall's bounded end does. */
async function sendHeld(sent: string[]): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
  expect(sent.at(-1)).toBe("POST /_matrix/client/unstable/org.matrix.msc4140/delayed_events/d1/send");
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("RoomPresence.settled", () => {
  it("comes when exit() has finished: the leave sent now", async () => {
    const { doRequest, release } = holdingSend();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    const exit = presence.exit();
    await vi.advanceTimersByTimeAsync(100);
    expect(settled()).toBe(false);
    release();
    await exit;
    await vi.advanceTimersByTimeAsync(0);
    expect(settled()).toBe(true);
  });

  it("after abandon(): not before the held leave has ended and the delay has passed", async () => {
    const { doRequest, release, sent } = holdingSend();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000, restartMs: 5_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    void presence.exit();
    await sendHeld(sent);
    presence.abandon();
    // The delay passes while the send is held: the held request can still land, so not settled.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(settled()).toBe(false);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled()).toBe(true);
  });

  it("after abandon(): a held send that lands settles at once (the homeserver has sent the leave)", async () => {
    const { doRequest, release, sent } = holdingSend();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    void presence.exit();
    await sendHeld(sent);
    presence.abandon();
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled()).toBe(true);
  });

  it("after abandon(): a held send that fails puts no `{}` of its own, and the delay counts", async () => {
    const { doRequest, release, sent } = holdingSend({ failSend: true });
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    void presence.exit();
    await sendHeld(sent);
    const before = sent.length;
    presence.abandon();
    release();
    await vi.advanceTimersByTimeAsync(8_000);
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled()).toBe(true);
    // The homeserver sends the leave it holds; a direct PUT could land after the room's next membership.
    expect(statePutsAfter(sent, before)).toEqual([]);
  });

  it("a send that fails without abandon(): `{}` is put directly, and settled still waits for the leave's delay", async () => {
    const { doRequest, release, sent } = holdingSend({ failSend: true });
    release();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    const before = sent.length;
    await presence.exit();
    expect(statePutsAfter(sent, before)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled()).toBe(true);
  });

  it("after abandon(): comes at the cap when the held request never ends", async () => {
    const { doRequest, sent } = holdingSend();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    void presence.exit();
    await sendHeld(sent);
    presence.abandon();
    await vi.advanceTimersByTimeAsync(SETTLE_CAP_MS - 1);
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled()).toBe(true);
  });

  it("abandon() after exit() has finished changes nothing: settled at once", async () => {
    const { doRequest, release } = holdingSend();
    release();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log);
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    await presence.exit();
    presence.abandon();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled()).toBe(true);
  });

  it("after abandon(): a restart still on its way puts the homeserver's leave off, so the delay counts from its answer", async () => {
    let answerRestart = (): void => undefined;
    const doRequest: DoRequest = async (method, endpoint) => {
      if (endpoint === "/_matrix/client/versions") return VERSIONS_ON;
      if (endpoint.endsWith("/restart"))
        await new Promise<void>((resolve) => {
          answerRestart = resolve;
        });
      if (endpoint.endsWith("/send")) await new Promise(() => undefined);
      return method === "PUT" ? { event_id: "$e", delay_id: "d1" } : {};
    };
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000, restartMs: 5_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    await vi.advanceTimersByTimeAsync(5_000);
    void presence.exit();
    presence.abandon();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(settled()).toBe(false);
    answerRestart();
    await vi.advanceTimersByTimeAsync(8_000);
    expect(settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(settled()).toBe(true);
  });

  it("a membership refused while the delayed leave is being scheduled: exit() waits for it and sends it, no restarts stay", async () => {
    const requests: string[] = [];
    let answerDelayed = (): void => undefined;
    const doRequest: DoRequest = async (method, endpoint, qs) => {
      requests.push(`${method} ${endpoint.split("/").at(-1) ?? ""}`);
      if (endpoint === "/_matrix/client/versions") return VERSIONS_ON;
      if (method === "PUT" && qs?.["org.matrix.msc4140.delay"] !== undefined) {
        await new Promise<void>((resolve) => {
          answerDelayed = resolve;
        });
        return { delay_id: "d1" };
      }
      if (method === "PUT") throw Object.assign(new Error("forbidden"), { statusCode: 403, errcode: "M_FORBIDDEN" });
      return {};
    };
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000, restartMs: 5_000 } });
    await expect(presence.enter(FOCUS)).rejects.toThrow("forbidden");
    const exit = presence.exit();
    answerDelayed();
    await exit;
    expect(requests.filter((r) => r.endsWith("send"))).toEqual(["POST send"]);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(requests.filter((r) => r.endsWith("restart"))).toEqual([]);
  });
});
