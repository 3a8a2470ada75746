/**
 * Being called with MatrixRTC, the pure parts: which room event starts a call the bot joins
 * (src/matrixrtc/incoming-membership.ts: someone else's fresh, unexpired m.call membership; the bot's own, `{}`,
 * expired, stale and malformed ones are not), the focus it joins on (the caller's foci_preferred), and the peer's
 * devices (src/matrixrtc/peer-watch.ts, tested in matrixrtc-peer-watch.test.ts: when the caller's last device has left), and the join's steps (the caller's
 * focus, else the bot's own; rtc-call-steps.ts joinSteps, over fake token requests).
 */
import { describe, expect, it } from "vitest";
import { callerFocus, incomingCall } from "../../src/matrixrtc/incoming-membership.ts";
import type { LiveKitFocus } from "../../src/matrixrtc/focus.ts";
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
