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

/** Answers every request at once, except a delayed-leave "send", which waits until release() (as a hung homeserver). */
function holdingSend(): { doRequest: DoRequest; release: () => void; sent: string[] } {
  let release = (): void => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sent: string[] = [];
  const doRequest: DoRequest = async (method, endpoint) => {
    sent.push(`${method} ${endpoint}`);
    if (endpoint === "/_matrix/client/versions") return VERSIONS_ON;
    if (endpoint.endsWith("/send")) await held;
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
    // No restart after abandon(): the homeserver's leave is not put off again.
    expect(sent.filter((s) => s.endsWith("/restart"))).toHaveLength(0);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(settled()).toBe(true);
  });

  it("after abandon(): the delay counts even when the held request ends at once", async () => {
    const { doRequest, release, sent } = holdingSend();
    const presence = new RoomPresence(new RtcRoomApi(doRequest), WHERE, log, { delayedLeave: { delayMs: 8_000 } });
    const settled = settledYet(presence);
    await presence.enter(FOCUS);
    void presence.exit();
    await sendHeld(sent);
    presence.abandon();
    release();
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
});
