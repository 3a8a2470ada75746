/**
 * The callee state machine (calls placed to the bot): every state × every input kind, then whole
 * call scenarios.
 */
import { describe, expect, it } from "vitest";
import {
  incomingTransition as inboundTransition,
  initialIncomingContext as initialInboundContext,
  type IncomingAction as InboundAction,
  type IncomingContext as InboundContext,
  type IncomingInput as InboundInput,
  type IncomingStep as InboundTransition,
} from "../../src/call/incoming-state.ts";
import { CallState, type EndReason } from "../../src/call/state.ts";

const CALLER = "caller-device";
const OTHER = "someone-else";

function ctxIn(state: CallState, over: Partial<InboundContext> = {}): InboundContext {
  return { state, callerPartyId: CALLER, canNegotiate: true, hadMedia: state === CallState.Connected, ...over };
}

const INPUTS = {
  answer_sent: { kind: "answer_sent" },
  hangup_caller: { kind: "remote_hangup", partyId: CALLER },
  hangup_other: { kind: "remote_hangup", partyId: OTHER },
  hangup_v0: { kind: "remote_hangup", partyId: null },
  select_us: { kind: "select_answer", partyId: CALLER, selectedUs: true },
  select_elsewhere: { kind: "select_answer", partyId: CALLER, selectedUs: false },
  select_elsewhere_other_party: { kind: "select_answer", partyId: OTHER, selectedUs: false },
  negotiate_offer: { kind: "negotiate", partyId: CALLER, description: "offer", expired: false },
  negotiate_offer_expired: { kind: "negotiate", partyId: CALLER, description: "offer", expired: true },
  negotiate_offer_other: { kind: "negotiate", partyId: OTHER, description: "offer", expired: false },
  negotiate_answer: { kind: "negotiate", partyId: CALLER, description: "answer", expired: false },
  remote_left: { kind: "remote_left" },
  timer_ice: { kind: "timer", timer: "iceDisconnected" },
  ice_new: { kind: "ice", state: "new" },
  ice_checking: { kind: "ice", state: "checking" },
  ice_connected: { kind: "ice", state: "connected" },
  ice_completed: { kind: "ice", state: "completed" },
  ice_disconnected: { kind: "ice", state: "disconnected" },
  ice_failed: { kind: "ice", state: "failed" },
  ice_closed: { kind: "ice", state: "closed" },
  local_hangup: { kind: "local_hangup", reason: "user_hangup" },
  failure: { kind: "failure", reason: "unknown_error" },
} as const satisfies Record<string, InboundInput>;
type InputName = keyof typeof INPUTS;

type Expected = { ignored: true } | { ignored: false; next: Partial<InboundContext> & { state: CallState }; actions: InboundAction[] };
const IGNORED: Expected = { ignored: true };

function ended(party: "local" | "remote", reason: EndReason, send?: InboundAction): Expected {
  const actions: InboundAction[] = [{ kind: "clear_timer", timer: "iceDisconnected" }];
  if (send !== undefined) actions.push(send);
  actions.push({ kind: "terminate", party, reason });
  return { ignored: false, next: { state: CallState.Ended }, actions };
}
const to = (next: Partial<InboundContext> & { state: CallState }, actions: InboundAction[]): Expected => ({
  ignored: false,
  next,
  actions,
});
const hangup = (reason: "user_hangup" | "unknown_error" | "ice_failed" | "ice_timeout"): InboundAction => ({ kind: "send_hangup", reason });

const toConnected = to({ state: CallState.Connected, hadMedia: true }, [{ kind: "clear_timer", timer: "iceDisconnected" }]);
const startIceTimer = (state: CallState): Expected => to({ state }, [{ kind: "start_timer", timer: "iceDisconnected" }]);

/** The answered states behave alike except for what ICE failing means (had media or not). */
function answeredRow(state: CallState.Connecting | CallState.Connected): Record<InputName, Expected> {
  const gaveUp = state === CallState.Connected ? "ice_timeout" : "ice_failed";
  return {
    answer_sent: IGNORED,
    hangup_caller: ended("remote", "remote_hangup"),
    hangup_other: IGNORED,
    hangup_v0: IGNORED,
    select_us: IGNORED,
    select_elsewhere: ended("remote", "answered_elsewhere"),
    select_elsewhere_other_party: IGNORED,
    negotiate_offer: to({ state }, [{ kind: "answer_negotiation" }]),
    negotiate_offer_expired: IGNORED,
    negotiate_offer_other: IGNORED,
    negotiate_answer: IGNORED,
    remote_left: ended("remote", "remote_hangup"),
    timer_ice: ended("local", gaveUp, hangup(gaveUp)),
    ice_new: IGNORED,
    ice_checking: IGNORED,
    ice_connected: toConnected,
    ice_completed: toConnected,
    ice_disconnected: startIceTimer(state),
    // A version-1 caller may restart ICE: the grace period runs instead of hanging up at once.
    ice_failed: startIceTimer(state),
    ice_closed: IGNORED,
    local_hangup: ended("local", "user_hangup", hangup("user_hangup")),
    failure: ended("local", "unknown_error", hangup("unknown_error")),
  };
}

const TABLE: Record<CallState.Preparing | CallState.Connecting | CallState.Connected, Record<InputName, Expected>> = {
  [CallState.Preparing]: {
    // The ICE timer runs until ICE first connects.
    answer_sent: to({ state: CallState.Connecting }, [{ kind: "start_timer", timer: "iceDisconnected" }]),
    // The caller gave up before our answer went out: nothing goes back.
    hangup_caller: ended("remote", "remote_hangup"),
    hangup_other: IGNORED,
    hangup_v0: IGNORED,
    select_us: IGNORED,
    select_elsewhere: ended("remote", "answered_elsewhere"),
    select_elsewhere_other_party: IGNORED,
    negotiate_offer: IGNORED,
    negotiate_offer_expired: IGNORED,
    negotiate_offer_other: IGNORED,
    negotiate_answer: IGNORED,
    remote_left: ended("remote", "remote_hangup"),
    timer_ice: IGNORED,
    ice_new: IGNORED,
    ice_checking: IGNORED,
    ice_connected: IGNORED,
    ice_completed: IGNORED,
    ice_disconnected: IGNORED,
    ice_failed: IGNORED,
    ice_closed: IGNORED,
    // Before our answer: declined (m.call.reject), since Element ignores a hangup then.
    local_hangup: ended("local", "user_hangup", { kind: "decline", reason: "user_hangup" }),
    failure: ended("local", "unknown_error", { kind: "decline", reason: "unknown_error" }),
  },
  [CallState.Connecting]: answeredRow(CallState.Connecting),
  [CallState.Connected]: answeredRow(CallState.Connected),
};

function check(ctx: InboundContext, input: InboundInput, result: InboundTransition, expected: Expected): void {
  if (expected.ignored) {
    expect(result.ignored).toEqual(expect.any(String));
    expect(result.actions).toEqual([]);
    expect(result.next).toEqual(ctx);
    return;
  }
  expect(result.ignored, `unexpectedly ignored ${JSON.stringify(input)}: ${result.ignored ?? ""}`).toBeUndefined();
  expect(result.actions).toEqual(expected.actions);
  expect(result.next).toEqual({ ...ctx, ...expected.next });
}

describe("inboundTransition: every state × every input", () => {
  for (const state of [CallState.Preparing, CallState.Connecting, CallState.Connected] as const) {
    describe(state, () => {
      for (const name of Object.keys(INPUTS) as InputName[]) {
        const expected = TABLE[state][name];
        it(`${name} → ${expected.ignored ? "ignored" : `${expected.next.state} ${expected.actions.map((a) => a.kind).join(",")}`}`, () => {
          const ctx = ctxIn(state);
          const before = structuredClone(ctx);
          check(ctx, INPUTS[name], inboundTransition(ctx, INPUTS[name]), expected);
          expect(ctx).toEqual(before);
        });
      }
    });
  }

  describe(CallState.Ended, () => {
    for (const name of Object.keys(INPUTS) as InputName[]) {
      it(`${name} → ignored`, () => {
        const ctx = ctxIn(CallState.Ended);
        const r = inboundTransition(ctx, INPUTS[name]);
        expect(r.ignored).toBe("call already ended");
        expect(r.actions).toEqual([]);
        expect(r.next).toBe(ctx);
      });
    }
  });

  it("covers every ICE state", () => {
    const ice = Object.values(INPUTS).flatMap((i) => (i.kind === "ice" ? [i.state] : []));
    expect(new Set(ice)).toEqual(new Set(["new", "checking", "connected", "completed", "disconnected", "failed", "closed"]));
  });
});

describe("inboundTransition: a version-0 caller", () => {
  const v0 = (state: CallState): InboundContext => ctxIn(state, { callerPartyId: null, canNegotiate: false });

  it("its events have no party, and they count", () => {
    const r = inboundTransition(v0(CallState.Connected), INPUTS.hangup_v0);
    expect(r.actions.at(-1)).toEqual({ kind: "terminate", party: "remote", reason: "remote_hangup" });
    expect(inboundTransition(v0(CallState.Connected), INPUTS.hangup_caller).ignored).toContain(CALLER);
  });

  it("cannot renegotiate", () => {
    expect(inboundTransition(v0(CallState.Connected), { ...INPUTS.negotiate_offer, partyId: null }).ignored).toBe(
      "negotiate in a version-0 call",
    );
  });

  it("ICE failing ends the call at once (no ICE restart can come)", () => {
    expect(inboundTransition(v0(CallState.Connecting), INPUTS.ice_failed).actions).toEqual([
      { kind: "clear_timer", timer: "iceDisconnected" },
      { kind: "send_hangup", reason: "ice_failed" },
      { kind: "terminate", party: "local", reason: "ice_failed" },
    ]);
    expect(inboundTransition(v0(CallState.Connected), INPUTS.ice_failed).actions).toContainEqual({
      kind: "send_hangup",
      reason: "ice_timeout",
    });
  });
});

describe("inboundTransition: ignored inputs say why", () => {
  it.each([
    [CallState.Connected, INPUTS.negotiate_offer_expired, "negotiate older than its lifetime"],
    [CallState.Connected, INPUTS.negotiate_answer, "a negotiate answer, but we sent no offer"],
    [CallState.Preparing, INPUTS.negotiate_offer, "negotiate before our answer was sent"],
    [CallState.Connected, INPUTS.select_us, "our answer was selected"],
    [CallState.Connected, INPUTS.hangup_other, `hangup from party ${OTHER}, not the caller's`],
    [CallState.Connecting, INPUTS.answer_sent, "answer already sent"],
  ] as const)("%s %j", (state, input, why) => {
    expect(inboundTransition(ctxIn(state), input).ignored).toBe(why);
  });
});

function run(ctx: InboundContext, ...inputs: InboundInput[]): { ctx: InboundContext; steps: InboundTransition[] } {
  const steps: InboundTransition[] = [];
  for (const input of inputs) {
    const t = inboundTransition(ctx, input);
    steps.push(t);
    ctx = t.next;
  }
  return { ctx, steps };
}

describe("inbound call scenarios", () => {
  it("starts preparing with the invite's party, no media", () => {
    expect(initialInboundContext(CALLER, true)).toEqual({
      state: CallState.Preparing,
      callerPartyId: CALLER,
      canNegotiate: true,
      hadMedia: false,
    });
    expect(initialInboundContext(null, false)).toEqual({
      state: CallState.Preparing,
      callerPartyId: null,
      canNegotiate: false,
      hadMedia: false,
    });
  });

  it("answer, connect, hold via negotiate, ICE restart after a failure, caller hangs up", () => {
    const { ctx, steps } = run(
      initialInboundContext(CALLER, true),
      INPUTS.answer_sent,
      INPUTS.ice_checking,
      INPUTS.ice_connected,
      INPUTS.select_us,
      INPUTS.negotiate_offer,
      INPUTS.ice_failed,
      INPUTS.negotiate_offer,
      INPUTS.ice_connected,
      INPUTS.hangup_caller,
    );
    expect(steps.map((s) => s.next.state)).toEqual([
      CallState.Connecting,
      CallState.Connecting,
      CallState.Connected,
      CallState.Connected,
      CallState.Connected,
      CallState.Connected,
      CallState.Connected,
      CallState.Connected,
      CallState.Ended,
    ]);
    expect(steps[5]?.actions).toEqual([{ kind: "start_timer", timer: "iceDisconnected" }]);
    expect(steps[7]?.actions).toEqual([{ kind: "clear_timer", timer: "iceDisconnected" }]);
    expect(steps[8]?.actions.some((a) => a.kind === "send_hangup")).toBe(false);
    expect(ctx.hadMedia).toBe(true);
  });

  it("an ICE restart that never comes: the grace timer ends the call with ice_timeout", () => {
    const { steps } = run(
      initialInboundContext(CALLER, true),
      INPUTS.answer_sent,
      INPUTS.ice_connected,
      INPUTS.ice_failed,
      INPUTS.timer_ice,
    );
    expect(steps[3]?.actions).toContainEqual({ kind: "send_hangup", reason: "ice_timeout" });
  });

  it("an answer whose ICE never connects: the timer started with the answer ends the call with ice_failed", () => {
    const { steps } = run(initialInboundContext(CALLER, true), INPUTS.answer_sent, INPUTS.ice_checking, INPUTS.timer_ice);
    expect(steps[0]?.actions).toEqual([{ kind: "start_timer", timer: "iceDisconnected" }]);
    expect(steps[2]?.actions).toContainEqual({ kind: "send_hangup", reason: "ice_failed" });
  });

  it("answered elsewhere ends silently, even before our answer is out", () => {
    const { steps } = run(initialInboundContext(CALLER, true), INPUTS.select_elsewhere);
    expect(steps[0]?.actions).toEqual([
      { kind: "clear_timer", timer: "iceDisconnected" },
      { kind: "terminate", party: "remote", reason: "answered_elsewhere" },
    ]);
  });

  it("a failure while making the answer declines the call", () => {
    const { steps } = run(initialInboundContext(CALLER, true), INPUTS.failure, INPUTS.answer_sent);
    expect(steps[0]?.actions).toContainEqual({ kind: "decline", reason: "unknown_error" });
    expect(steps[1]?.ignored).toBe("call already ended");
  });
});
