/**
 * The pure call state machine: every state × every input kind, then whole call scenarios.
 */
import { describe, expect, it } from "vitest";
import {
  initialOutgoingContext as initialContext,
  outgoingTransition as transition,
  type OutgoingAction as CallAction,
  type OutgoingContext as CallContext,
  type OutgoingInput as CallInput,
  type OutgoingStep as Transition,
} from "../../src/call/outgoing-state.ts";
import { CallState, type EndReason } from "../../src/call/state.ts";
import type { HangupReason } from "../../src/call/wire.ts";

// ---- contexts, as the machine itself produces them ----

const CHOSEN = "party-chosen";
const OTHER = "party-other";

const CONTEXTS: Record<CallState, CallContext> = {
  [CallState.Preparing]: { state: CallState.Preparing, chosenPartyId: undefined, hadMedia: false },
  [CallState.Ringing]: { state: CallState.Ringing, chosenPartyId: undefined, hadMedia: false },
  [CallState.Connecting]: { state: CallState.Connecting, chosenPartyId: CHOSEN, hadMedia: false },
  [CallState.Connected]: { state: CallState.Connected, chosenPartyId: CHOSEN, hadMedia: true },
  [CallState.Ended]: { state: CallState.Ended, chosenPartyId: CHOSEN, hadMedia: true },
};

// ---- inputs ----

const INPUTS = {
  invite_sent: { kind: "invite_sent" },
  answer_chosen: { kind: "answer", partyId: CHOSEN },
  answer_other: { kind: "answer", partyId: OTHER },
  answer_v0: { kind: "answer", partyId: null },
  hangup_chosen: { kind: "remote_hangup", partyId: CHOSEN, reason: "user_hangup" },
  hangup_other: { kind: "remote_hangup", partyId: OTHER, reason: "user_hangup" },
  hangup_v0: { kind: "remote_hangup", partyId: null, reason: undefined },
  reject_chosen: { kind: "remote_reject", partyId: CHOSEN },
  reject_other: { kind: "remote_reject", partyId: OTHER },
  remote_left: { kind: "remote_left" },
  timer_invite: { kind: "timer", timer: "invite" },
  timer_ice: { kind: "timer", timer: "iceDisconnected" },
  ice_new: { kind: "ice", state: "new" },
  ice_checking: { kind: "ice", state: "checking" },
  ice_connected: { kind: "ice", state: "connected" },
  ice_completed: { kind: "ice", state: "completed" },
  ice_disconnected: { kind: "ice", state: "disconnected" },
  ice_failed: { kind: "ice", state: "failed" },
  ice_closed: { kind: "ice", state: "closed" },
  local_hangup: { kind: "local_hangup", reason: "user_hangup" },
  failure: { kind: "failure", reason: "user_media_failed" },
  replaced: { kind: "replaced" },
} as const satisfies Record<string, CallInput>;

type InputName = keyof typeof INPUTS;

// ---- expected outcomes ----

type Expected = { ignored: true } | { ignored: false; next: Partial<CallContext> & { state: CallState }; actions: CallAction[] };

const IGNORED: Expected = { ignored: true };

/** Every ending clears both timers first, then maybe sends a hangup, then terminates. */
function ended(party: "local" | "remote", reason: EndReason, send?: HangupReason): Expected {
  const actions: CallAction[] = [
    { kind: "clear_timer", timer: "invite" },
    { kind: "clear_timer", timer: "iceDisconnected" },
  ];
  if (send !== undefined) actions.push({ kind: "send_hangup", reason: send });
  actions.push({ kind: "terminate", party, reason });
  return { ignored: false, next: { state: CallState.Ended }, actions };
}

function to(next: Partial<CallContext> & { state: CallState }, actions: CallAction[]): Expected {
  return { ignored: false, next, actions };
}

const toConnected = to({ state: CallState.Connected, chosenPartyId: CHOSEN, hadMedia: true }, [
  { kind: "clear_timer", timer: "iceDisconnected" },
]);

const TABLE: Record<Exclude<CallState, CallState.Ended>, Record<InputName, Expected>> = {
  [CallState.Preparing]: {
    invite_sent: to({ state: CallState.Ringing, chosenPartyId: undefined, hadMedia: false }, [{ kind: "start_timer", timer: "invite" }]),
    answer_chosen: IGNORED,
    answer_other: IGNORED,
    answer_v0: IGNORED,
    hangup_chosen: IGNORED,
    hangup_other: IGNORED,
    hangup_v0: IGNORED,
    reject_chosen: IGNORED,
    reject_other: IGNORED,
    remote_left: ended("remote", "declined"),
    timer_invite: IGNORED,
    timer_ice: IGNORED,
    ice_new: IGNORED,
    ice_checking: IGNORED,
    ice_connected: IGNORED,
    ice_completed: IGNORED,
    ice_disconnected: IGNORED,
    ice_failed: IGNORED,
    ice_closed: IGNORED,
    // Nothing was sent yet, so there is nobody to send a hangup to.
    local_hangup: ended("local", "user_hangup"),
    failure: ended("local", "user_media_failed"),
    // Glare lost while preparing: nothing was sent, so ours just goes.
    replaced: ended("local", "replaced"),
  },
  [CallState.Ringing]: {
    invite_sent: IGNORED,
    answer_chosen: to({ state: CallState.Connecting, chosenPartyId: CHOSEN, hadMedia: false }, [
      { kind: "clear_timer", timer: "invite" },
      { kind: "accept_answer" },
      { kind: "start_timer", timer: "iceDisconnected" },
    ]),
    answer_other: to({ state: CallState.Connecting, chosenPartyId: OTHER, hadMedia: false }, [
      { kind: "clear_timer", timer: "invite" },
      { kind: "accept_answer" },
      { kind: "start_timer", timer: "iceDisconnected" },
    ]),
    answer_v0: to({ state: CallState.Connecting, chosenPartyId: null, hadMedia: false }, [
      { kind: "clear_timer", timer: "invite" },
      { kind: "accept_answer" },
      { kind: "start_timer", timer: "iceDisconnected" },
    ]),
    // Hangup or reject while ringing: declined, and no hangup goes back.
    hangup_chosen: ended("remote", "declined"),
    hangup_other: ended("remote", "declined"),
    hangup_v0: ended("remote", "declined"),
    reject_chosen: ended("remote", "declined"),
    reject_other: ended("remote", "declined"),
    remote_left: ended("remote", "declined"),
    timer_invite: ended("local", "invite_timeout", "invite_timeout"),
    timer_ice: IGNORED,
    ice_new: IGNORED,
    ice_checking: IGNORED,
    ice_connected: IGNORED,
    ice_completed: IGNORED,
    ice_disconnected: IGNORED,
    ice_failed: IGNORED,
    ice_closed: IGNORED,
    local_hangup: ended("local", "user_hangup", "user_hangup"),
    failure: ended("local", "user_media_failed", "user_media_failed"),
    // Glare lost with the invite out: hung up (the spec has no "replaced" reason).
    replaced: ended("local", "replaced", "user_hangup"),
  },
  [CallState.Connecting]: {
    invite_sent: IGNORED,
    answer_chosen: IGNORED,
    answer_other: IGNORED,
    answer_v0: IGNORED,
    hangup_chosen: ended("remote", "remote_hangup"),
    hangup_other: IGNORED,
    hangup_v0: IGNORED,
    reject_chosen: IGNORED,
    reject_other: IGNORED,
    remote_left: ended("remote", "remote_hangup"),
    timer_invite: IGNORED,
    timer_ice: ended("local", "ice_failed", "ice_failed"),
    ice_new: IGNORED,
    ice_checking: IGNORED,
    ice_connected: toConnected,
    ice_completed: toConnected,
    ice_disconnected: to({ state: CallState.Connecting, chosenPartyId: CHOSEN, hadMedia: false }, [
      { kind: "start_timer", timer: "iceDisconnected" },
    ]),
    ice_failed: ended("local", "ice_failed", "ice_failed"),
    ice_closed: IGNORED,
    local_hangup: ended("local", "user_hangup", "user_hangup"),
    failure: ended("local", "user_media_failed", "user_media_failed"),
    replaced: IGNORED,
  },
  [CallState.Connected]: {
    invite_sent: IGNORED,
    answer_chosen: IGNORED,
    answer_other: IGNORED,
    answer_v0: IGNORED,
    hangup_chosen: ended("remote", "remote_hangup"),
    hangup_other: IGNORED,
    hangup_v0: IGNORED,
    reject_chosen: IGNORED,
    reject_other: IGNORED,
    remote_left: ended("remote", "remote_hangup"),
    timer_invite: IGNORED,
    timer_ice: ended("local", "ice_timeout", "ice_timeout"),
    ice_new: IGNORED,
    ice_checking: IGNORED,
    ice_connected: toConnected,
    ice_completed: toConnected,
    ice_disconnected: to({ state: CallState.Connected, chosenPartyId: CHOSEN, hadMedia: true }, [
      { kind: "start_timer", timer: "iceDisconnected" },
    ]),
    ice_failed: ended("local", "ice_timeout", "ice_timeout"),
    ice_closed: IGNORED,
    local_hangup: ended("local", "user_hangup", "user_hangup"),
    failure: ended("local", "user_media_failed", "user_media_failed"),
    replaced: IGNORED,
  },
};

function checkOutcome(ctx: CallContext, input: CallInput, result: Transition, expected: Expected): void {
  if (expected.ignored) {
    expect(result.ignored).toEqual(expect.any(String));
    expect(result.ignored).not.toBe("");
    expect(result.actions).toEqual([]);
    expect(result.next).toEqual(ctx);
    return;
  }
  expect(result.ignored, `unexpectedly ignored ${JSON.stringify(input)}: ${result.ignored ?? ""}`).toBeUndefined();
  expect(result.actions).toEqual(expected.actions);
  // Fields not named in the expectation carry over unchanged.
  expect(result.next).toEqual({ ...ctx, ...expected.next });
}

describe("transition: every state × every input", () => {
  const states = [CallState.Preparing, CallState.Ringing, CallState.Connecting, CallState.Connected] as const;
  for (const state of states) {
    describe(state, () => {
      const row = TABLE[state];
      for (const name of Object.keys(INPUTS) as InputName[]) {
        const input: CallInput = INPUTS[name];
        const expected = row[name];
        it(`${name} → ${expected.ignored ? "ignored" : `${expected.next.state} ${expected.actions.map((a) => a.kind).join(",")}`}`, () => {
          const ctx: CallContext = { ...CONTEXTS[state] };
          const before = structuredClone(ctx);
          const result = transition(ctx, input);
          checkOutcome(ctx, input, result, expected);
          // Pure: the given context is never modified.
          expect(ctx).toEqual(before);
        });
      }
    });
  }

  describe(CallState.Ended, () => {
    for (const name of Object.keys(INPUTS) as InputName[]) {
      it(`${name} → ignored`, () => {
        const ctx = CONTEXTS[CallState.Ended];
        const result = transition(ctx, INPUTS[name]);
        expect(result.ignored).toBe("call already ended");
        expect(result.actions).toEqual([]);
        expect(result.next).toBe(ctx);
      });
    }
  });

  it("covers every ICE state the input type allows", () => {
    const iceStates = Object.values(INPUTS).flatMap((i) => (i.kind === "ice" ? [i.state] : []));
    expect(new Set(iceStates)).toEqual(new Set(["new", "checking", "connected", "completed", "disconnected", "failed", "closed"]));
  });
});

describe("transition: the chosen party when it is null (a version 0 answer)", () => {
  const connecting: CallContext = { state: CallState.Connecting, chosenPartyId: null, hadMedia: false };

  it("ends on a hangup without party_id", () => {
    const r = transition(connecting, INPUTS.hangup_v0);
    expect(r.ignored).toBeUndefined();
    expect(r.next.state).toBe(CallState.Ended);
    expect(r.actions.at(-1)).toEqual({ kind: "terminate", party: "remote", reason: "remote_hangup" });
  });

  it("ignores a hangup that carries a party_id", () => {
    const r = transition(connecting, INPUTS.hangup_chosen);
    expect(r.ignored).toContain(CHOSEN);
    expect(r.next).toBe(connecting);
  });
});

describe("transition: ignored inputs say why", () => {
  it("names the foreign party", () => {
    expect(transition(CONTEXTS[CallState.Connected], INPUTS.hangup_other).ignored).toBe(`from party ${OTHER}, not the chosen one`);
  });
  it("a second answer", () => {
    expect(transition(CONTEXTS[CallState.Connecting], INPUTS.answer_other).ignored).toBe("another answer was already accepted");
  });
  it("a reject after an answer", () => {
    expect(transition(CONTEXTS[CallState.Connected], INPUTS.reject_chosen).ignored).toBe("reject after an answer was accepted");
  });
  it("an ICE state that needs no action", () => {
    expect(transition(CONTEXTS[CallState.Connecting], INPUTS.ice_checking).ignored).toBe("ICE checking");
  });
});

/** Runs inputs from the initial context, collecting the transitions. */
function run(...inputs: CallInput[]): { ctx: CallContext; steps: Transition[] } {
  let ctx = initialContext();
  const steps: Transition[] = [];
  for (const input of inputs) {
    const t = transition(ctx, input);
    steps.push(t);
    ctx = t.next;
  }
  return { ctx, steps };
}

function step(steps: readonly Transition[], i: number): Transition {
  const s = steps[i];
  if (s === undefined) throw new Error(`no step ${i}`);
  return s;
}

describe("call scenarios", () => {
  it("starts in Preparing with no chosen party and no media", () => {
    expect(initialContext()).toEqual({ state: CallState.Preparing, chosenPartyId: undefined, hadMedia: false });
    // A fresh object each time.
    expect(initialContext()).not.toBe(initialContext());
  });

  it("the first answer wins and a second one is ignored", () => {
    const { ctx, steps } = run(INPUTS.invite_sent, { kind: "answer", partyId: "A" }, { kind: "answer", partyId: "B" });
    expect(step(steps, 1).actions).toEqual([
      { kind: "clear_timer", timer: "invite" },
      { kind: "accept_answer" },
      { kind: "start_timer", timer: "iceDisconnected" },
    ]);
    expect(step(steps, 2).ignored).toBeDefined();
    expect(step(steps, 2).actions).toEqual([]);
    expect(ctx.chosenPartyId).toBe("A");
    expect(ctx.state).toBe(CallState.Connecting);
  });

  it("after an answer, a hangup from another party is ignored and the chosen party's one ends the call", () => {
    const { ctx, steps } = run(
      INPUTS.invite_sent,
      { kind: "answer", partyId: "A" },
      { kind: "ice", state: "connected" },
      { kind: "remote_hangup", partyId: "B", reason: "user_hangup" },
      { kind: "remote_reject", partyId: "A" },
      { kind: "remote_hangup", partyId: "A", reason: "user_hangup" },
    );
    expect(step(steps, 3).ignored).toBeDefined();
    expect(step(steps, 4).ignored).toBeDefined();
    expect(step(steps, 5).actions).toEqual([
      { kind: "clear_timer", timer: "invite" },
      { kind: "clear_timer", timer: "iceDisconnected" },
      { kind: "terminate", party: "remote", reason: "remote_hangup" },
    ]);
    expect(ctx.state).toBe(CallState.Ended);
  });

  it("a reject while ringing is a decline: no hangup is sent", () => {
    const { ctx, steps } = run(INPUTS.invite_sent, { kind: "remote_reject", partyId: "A" });
    expect(step(steps, 1).actions.some((a) => a.kind === "send_hangup")).toBe(false);
    expect(step(steps, 1).actions.at(-1)).toEqual({ kind: "terminate", party: "remote", reason: "declined" });
    expect(ctx.state).toBe(CallState.Ended);
  });

  it("an unanswered invite times out with invite_timeout sent", () => {
    const { steps } = run(INPUTS.invite_sent, INPUTS.timer_invite);
    expect(step(steps, 0).actions).toEqual([{ kind: "start_timer", timer: "invite" }]);
    expect(step(steps, 1).actions).toContainEqual({ kind: "send_hangup", reason: "invite_timeout" });
    expect(step(steps, 1).actions.at(-1)).toEqual({ kind: "terminate", party: "local", reason: "invite_timeout" });
  });

  it("the invite timer firing after an answer is ignored (a late timer)", () => {
    const { ctx, steps } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.timer_invite);
    expect(step(steps, 2).ignored).toBeDefined();
    expect(ctx.state).toBe(CallState.Connecting);
  });

  it("ICE failing before it ever connected hangs up with ice_failed", () => {
    const { steps } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.ice_checking, INPUTS.ice_failed);
    expect(step(steps, 3).actions).toContainEqual({ kind: "send_hangup", reason: "ice_failed" });
    expect(step(steps, 3).actions.at(-1)).toEqual({ kind: "terminate", party: "local", reason: "ice_failed" });
  });

  it("ICE failing after it had connected hangs up with ice_timeout", () => {
    const { steps } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.ice_connected, INPUTS.ice_disconnected, INPUTS.ice_failed);
    expect(step(steps, 4).actions).toContainEqual({ kind: "send_hangup", reason: "ice_timeout" });
  });

  it("disconnected starts the ICE timer, connected clears it, and the call carries on", () => {
    const { ctx, steps } = run(
      INPUTS.invite_sent,
      INPUTS.answer_chosen,
      INPUTS.ice_connected,
      INPUTS.ice_disconnected,
      INPUTS.ice_connected,
    );
    expect(step(steps, 3).actions).toEqual([{ kind: "start_timer", timer: "iceDisconnected" }]);
    expect(step(steps, 3).next.state).toBe(CallState.Connected);
    expect(step(steps, 4).actions).toEqual([{ kind: "clear_timer", timer: "iceDisconnected" }]);
    expect(ctx).toEqual({ state: CallState.Connected, chosenPartyId: CHOSEN, hadMedia: true });
  });

  it("the ICE timer expiring after a disconnect ends the call with ice_timeout", () => {
    const { ctx, steps } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.ice_completed, INPUTS.ice_disconnected, INPUTS.timer_ice);
    expect(step(steps, 4).actions).toEqual([
      { kind: "clear_timer", timer: "invite" },
      { kind: "clear_timer", timer: "iceDisconnected" },
      { kind: "send_hangup", reason: "ice_timeout" },
      { kind: "terminate", party: "local", reason: "ice_timeout" },
    ]);
    expect(ctx.state).toBe(CallState.Ended);
  });

  it("an answer whose ICE never connects: the timer the answer started ends the call with ice_failed", () => {
    const { ctx, steps } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.ice_new, INPUTS.ice_checking, INPUTS.timer_ice);
    expect(step(steps, 1).actions).toContainEqual({ kind: "start_timer", timer: "iceDisconnected" });
    expect(step(steps, 4).actions).toContainEqual({ kind: "send_hangup", reason: "ice_failed" });
    expect(ctx.state).toBe(CallState.Ended);
  });

  it("hadMedia stays set once ICE connected", () => {
    const { ctx } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.ice_connected, INPUTS.ice_disconnected);
    expect(ctx.hadMedia).toBe(true);
  });

  it("after the end, every further input is ignored", () => {
    const { ctx, steps } = run(INPUTS.invite_sent, INPUTS.local_hangup, INPUTS.answer_chosen, INPUTS.timer_invite, INPUTS.local_hangup);
    expect(step(steps, 1).actions).toContainEqual({ kind: "send_hangup", reason: "user_hangup" });
    for (const i of [2, 3, 4]) {
      expect(step(steps, i).ignored).toBe("call already ended");
      expect(step(steps, i).actions).toEqual([]);
    }
    expect(ctx.state).toBe(CallState.Ended);
  });

  it("a failure while preparing ends the call without sending anything", () => {
    const { steps } = run({ kind: "failure", reason: "unknown_error" });
    expect(step(steps, 0).actions).toEqual([
      { kind: "clear_timer", timer: "invite" },
      { kind: "clear_timer", timer: "iceDisconnected" },
      { kind: "terminate", party: "local", reason: "unknown_error" },
    ]);
  });

  it("the callee leaving the room mid-call ends it without sending a hangup", () => {
    const { steps } = run(INPUTS.invite_sent, INPUTS.answer_chosen, INPUTS.ice_connected, INPUTS.remote_left);
    expect(step(steps, 3).actions.some((a) => a.kind === "send_hangup")).toBe(false);
    expect(step(steps, 3).actions.at(-1)).toEqual({ kind: "terminate", party: "remote", reason: "remote_hangup" });
  });
});
