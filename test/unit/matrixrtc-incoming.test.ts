/**
 * Being called with MatrixRTC, the pure parts: which room event starts a call the bot joins
 * (src/matrixrtc/incoming-membership.ts: someone else's fresh, unexpired m.call membership; the bot's own, `{}`,
 * expired, stale and malformed ones are not), the focus it joins on (the caller's foci_preferred), and the peer's
 * devices (src/matrixrtc/peer-devices.ts: when the caller's last device has left), and the join's steps (the caller's
 * focus, else the bot's own; rtc-call-steps.ts joinSteps, over fake token requests).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { callerFocus, incomingCall } from "../../src/matrixrtc/incoming-membership.ts";
import type { LiveKitFocus } from "../../src/matrixrtc/focus.ts";
import { PeerDevices, PeerWatch } from "../../src/matrixrtc/peer-devices.ts";
import type { RtcCallSteps } from "../../src/matrixrtc/rtc-call.ts";
import { joinSteps } from "../../src/matrixrtc/rtc-call-steps.ts";
import { CALL_MEMBER_TYPE, membershipStateKey } from "../../src/matrixrtc/rtc-wire.ts";

const NOW = 1_764_540_000_000;
const BOT = "@cam:hs";
const ALICE = "@alice:hs";
const FOCUS = "https://jwt.alice.example";

/** Alice's membership as Element Call (js-sdk 43, compatibility mode) sends it on joining. */
function aliceContent(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: "PHONE",
    expires: 14_400_000,
    "m.call.intent": "video",
    focus_active: { type: "livekit", focus_selection: "multi_sfu" },
    foci_preferred: [{ type: "livekit", livekit_service_url: FOCUS, livekit_alias: "!dm:hs" }],
    ...over,
  };
}

function event(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: CALL_MEMBER_TYPE,
    sender: ALICE,
    event_id: "$m",
    origin_server_ts: NOW - 500,
    state_key: membershipStateKey(ALICE, "PHONE"),
    content: aliceContent(),
    unsigned: { age: 500 },
    ...over,
  };
}

describe("incomingCall: which membership starts a call the bot joins", () => {
  it("a fresh membership of another user: the caller, their device's state key and their focus", () => {
    expect(incomingCall(event(), BOT, NOW)).toEqual({
      call: {
        caller: ALICE,
        stateKey: "_@alice:hs_PHONE_m.call",
        deviceId: "PHONE",
        expiresAt: NOW - 500 + 14_400_000,
        eventId: "$m",
        focus: { type: "livekit", livekitServiceUrl: FOCUS, source: "membership" },
      },
    });
  });

  it.each([
    [
      "the bot's own membership (its echo)",
      event({ sender: BOT, state_key: membershipStateKey(BOT, "CAMDEV") }),
      "the bot's own membership",
    ],
    ["a membership that left ({})", event({ content: {} }), "a membership that left or expired"],
    [
      "an expired membership (created_ts + expires passed)",
      event({ content: aliceContent({ created_ts: NOW - 10_000, expires: 5_000 }) }),
      "a membership that left or expired",
    ],
    ["a stale event (the first sync after a restart replays it)", event({ unsigned: { age: 61_000 } }), "stale (61 s old)"],
    [
      "a re-sent membership of a call that started long ago (js-sdk keeps created_ts)",
      event({ content: aliceContent({ created_ts: NOW - 3_600_000 }) }),
      "stale (3600 s old)",
    ],
    [
      "no unsigned.age: the event's timestamp says it is stale",
      event({ unsigned: undefined, origin_server_ts: NOW - 120_000 }),
      "stale (120 s old)",
    ],
    ["another application's membership", event({ content: aliceContent({ application: "m.game" }) }), "malformed"],
    ["a membership of another call than the room's", event({ content: aliceContent({ call_id: "x" }) }), "malformed"],
    ["a membership without a device", event({ content: aliceContent({ device_id: 42 }) }), "malformed"],
    ["another state event", event({ type: "m.room.topic" }), "not a call membership"],
    ["a call.member that is not a state event", event({ state_key: undefined }), "not a call membership"],
    ["not an event at all", { nonsense: true }, "not a room event"],
  ])("%s: ignored", (_what, raw, why) => {
    const verdict = incomingCall(raw, BOT, NOW);
    expect("ignore" in verdict && verdict.ignore.startsWith(why)).toBe(true);
  });

  it("a fresh membership whose focus the bot cannot use: a call without the caller's focus (the bot's own is used)", () => {
    const verdict = incomingCall(event({ content: aliceContent({ foci_preferred: [{ type: "mesh" }] }) }), BOT, NOW);
    expect("call" in verdict && verdict.call.focus).toBeUndefined();
  });
});

describe("callerFocus", () => {
  it("the first LiveKit entry with an http(s) service URL, without a trailing slash", () => {
    expect(
      callerFocus([
        { type: "mesh" },
        { type: "livekit", livekit_service_url: "wss://not-http.example" },
        { type: "livekit", livekit_service_url: `${FOCUS}/`, livekit_alias: "!dm:hs" },
      ]),
    ).toEqual({ type: "livekit", livekitServiceUrl: FOCUS, source: "membership" });
  });

  it("none usable, or none given: undefined", () => {
    expect(callerFocus(undefined)).toBeUndefined();
    expect(callerFocus([])).toBeUndefined();
    expect(callerFocus(["junk", { type: "livekit" }])).toBeUndefined();
  });
});

describe("PeerDevices: when the peer has left the call", () => {
  const key = (device: string): string => membershipStateKey(ALICE, device);

  it("a call the bot joined starts with the caller's device in it; its leave is the last", () => {
    const peer = new PeerDevices([{ stateKey: key("PHONE"), expiresAt: NOW + 14_400_000 }]);
    expect(peer.update(key("PHONE"), {}, NOW, NOW)).toEqual({ kind: "all_left" });
    expect(peer.count).toBe(0);
  });

  it("a second device keeps the peer in the call until it leaves too", () => {
    const peer = new PeerDevices([{ stateKey: key("PHONE"), expiresAt: NOW + 14_400_000 }]);
    expect(peer.update(key("LAPTOP"), aliceContent({ device_id: "LAPTOP" }), NOW, NOW)).toEqual({ kind: "joined", deviceId: "LAPTOP" });
    expect(peer.update(key("PHONE"), {}, NOW, NOW)).toEqual({ kind: "left" });
    expect(peer.update(key("LAPTOP"), {}, NOW, NOW)).toEqual({ kind: "all_left" });
  });

  it("a leave of a device never seen in the call (a ringing call's callee) is no end", () => {
    const peer = new PeerDevices();
    expect(peer.update(key("PHONE"), {}, NOW, NOW)).toEqual({ kind: "left" });
  });

  it("an expired membership counts as a leave; a malformed one changes nothing", () => {
    const peer = new PeerDevices([{ stateKey: key("PHONE"), expiresAt: NOW + 14_400_000 }]);
    expect(peer.update(key("PHONE"), { application: "m.call", device_id: 1 }, NOW, NOW).kind).toBe("malformed");
    expect(peer.count).toBe(1);
    expect(peer.update(key("PHONE"), aliceContent({ created_ts: NOW - 10, expires: 5 }), NOW, NOW)).toEqual({ kind: "all_left" });
  });
});

describe("PeerDevices: lapsed memberships", () => {
  const key = (device: string): string => membershipStateKey(ALICE, device);

  it("the first expiry is the watch's; a lapsed membership is a leave, the last one ends the call", () => {
    const peer = new PeerDevices([{ stateKey: key("PHONE"), expiresAt: NOW + 1_000 }]);
    peer.update(key("LAPTOP"), aliceContent({ device_id: "LAPTOP", created_ts: NOW, expires: 5_000 }), NOW, NOW);
    expect(peer.nextExpiry()).toBe(NOW + 1_000);
    expect(peer.expire(NOW + 999)).toEqual({ kind: "left" });
    expect(peer.count).toBe(2);
    expect(peer.expire(NOW + 1_000)).toEqual({ kind: "left" });
    expect(peer.nextExpiry()).toBe(NOW + 5_000);
    expect(peer.expire(NOW + 5_000)).toEqual({ kind: "all_left" });
    expect(peer.nextExpiry()).toBeUndefined();
  });

  it("a renewal (same created_ts, longer expires) moves the expiry", () => {
    const peer = new PeerDevices([{ stateKey: key("PHONE"), expiresAt: NOW + 1_000 }]);
    peer.update(key("PHONE"), aliceContent({ created_ts: NOW - 1_000, expires: 60_000 }), NOW, NOW);
    expect(peer.nextExpiry()).toBe(NOW + 59_000);
  });
});

describe("PeerWatch: the timer on the caller's membership", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a caller whose membership lapses with no new event is gone ('lapsed'), once", () => {
    vi.useFakeTimers({ now: NOW });
    const gone: string[] = [];
    const watch = new PeerWatch([{ stateKey: "k", expiresAt: NOW + 8_000 }], (how) => gone.push(how));
    vi.advanceTimersByTime(7_999);
    expect(gone).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(gone).toEqual(["lapsed"]);
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual(["lapsed"]);
    watch.stop();
  });

  it("a renewal keeps the caller in; their leave is 'left'; stop() ends the watch", () => {
    vi.useFakeTimers({ now: NOW });
    const gone: string[] = [];
    const watch = new PeerWatch([{ stateKey: "k", expiresAt: NOW + 8_000 }], (how) => gone.push(how));
    vi.advanceTimersByTime(5_000);
    watch.update("k", aliceContent({ created_ts: NOW, expires: 20_000 }), NOW, Date.now());
    vi.advanceTimersByTime(10_000);
    expect(gone).toEqual([]);
    watch.update("k", {}, Date.now(), Date.now());
    expect(gone).toEqual(["left"]);
    const stopped = new PeerWatch([{ stateKey: "k", expiresAt: NOW + 1 }], (how) => gone.push(how));
    stopped.stop();
    vi.advanceTimersByTime(1_000);
    expect(gone).toEqual(["left"]);
  });

  it("an expiry beyond setTimeout's range does not fire at once", () => {
    vi.useFakeTimers({ now: NOW });
    const gone: string[] = [];
    const watch = new PeerWatch([{ stateKey: "k", expiresAt: NOW + 10 * 2 ** 31 }], (how) => gone.push(how));
    vi.advanceTimersByTime(2 ** 31);
    expect(gone).toEqual([]);
    watch.stop();
  });
});

describe("joinSteps: the focus a joined call uses", () => {
  const own: LiveKitFocus = { type: "livekit", livekitServiceUrl: "https://jwt.bot.example", source: "config" };
  const theirs: LiveKitFocus = { type: "livekit", livekitServiceUrl: FOCUS, source: "membership" };
  /** The bot's own steps; `refuses`: focus URLs whose token service refuses the bot. */
  function home(refuses: string[], asked: string[]): RtcCallSteps {
    return {
      focus: () => Promise.resolve(own),
      token: (focus) => {
        asked.push(focus.livekitServiceUrl);
        return refuses.includes(focus.livekitServiceUrl)
          ? Promise.reject(new Error("403"))
          : Promise.resolve({ url: "ws://lk", jwt: `jwt for ${focus.livekitServiceUrl}` });
      },
    };
  }

  it("the caller's focus, with its token asked once", async () => {
    const asked: string[] = [];
    const steps = joinSteps(home([], asked), theirs);
    const focus = await steps.focus();
    expect(focus).toBe(theirs);
    expect((await steps.token(focus)).jwt).toBe(`jwt for ${FOCUS}`);
    expect(asked).toEqual([FOCUS]);
  });

  it("a caller's focus that refuses the bot: the bot's own, and the refusal reported", async () => {
    const asked: string[] = [];
    const refusals: unknown[] = [];
    const steps = joinSteps(home([FOCUS], asked), theirs, (err) => refusals.push(err));
    const focus = await steps.focus();
    expect(focus).toBe(own);
    expect((await steps.token(focus)).jwt).toBe("jwt for https://jwt.bot.example");
    expect(asked).toEqual([FOCUS, "https://jwt.bot.example"]);
    expect(refusals).toHaveLength(1);
  });

  it("no usable focus in the caller's membership: the bot's own", async () => {
    expect(await joinSteps(home([], []), undefined).focus()).toBe(own);
  });
});
