/**
 * The state machine of a call placed TO the bot (the callee role), as a pure function: no I/O, no
 * timers. `InboundCallSession` feeds it events and carries out the actions it returns.
 *
 * It reuses `CallState` without Ringing (the bot answers at once):
 *   Preparing  – the invite was accepted: offer set, camera tracks added, answer being made; nothing sent
 *   Connecting – our m.call.answer is out; ICE is connecting
 *   Connected  – ICE connected: media flows
 *   Ended
 * Only the caller's party counts (the invite's party_id; null for a version-0 invite).
 */
import { CallState, type EndReason } from "./state.ts";
import type { HangupReason } from "./wire.ts";

export type IceState = "checking" | "connected" | "completed" | "disconnected" | "failed" | "closed" | "new";

export interface InboundContext {
  state: CallState;
  /** The caller's party ID from the invite; null for a version-0 caller. */
  callerPartyId: string | null;
  /** The invite was version "1" (our answer always is): m.call.negotiate is allowed. */
  canNegotiate: boolean;
  /** ICE reached connected at least once (media flowed). */
  hadMedia: boolean;
}

export type InboundInput =
  | { kind: "answer_sent" }
  | { kind: "remote_hangup"; partyId: string | null }
  | { kind: "select_answer"; partyId: string | null; selectedUs: boolean }
  | { kind: "negotiate"; partyId: string | null; description: "offer" | "answer"; expired: boolean }
  | { kind: "remote_left" }
  | { kind: "timer"; timer: "iceDisconnected" }
  | { kind: "ice"; state: IceState }
  | { kind: "local_hangup"; reason: HangupReason }
  | { kind: "failure"; reason: HangupReason };

export type InboundAction =
  /** Apply their offer, answer it, send the answer in m.call.negotiate. */
  | { kind: "answer_negotiation" }
  | { kind: "send_hangup"; reason: HangupReason }
  /** Ending before our answer went out: decline (m.call.reject for a v1 invite; Element ignores a hangup then). */
  | { kind: "decline"; reason: HangupReason }
  | { kind: "start_timer"; timer: "iceDisconnected" }
  | { kind: "clear_timer"; timer: "iceDisconnected" }
  | { kind: "terminate"; party: "local" | "remote"; reason: EndReason };

export interface InboundTransition {
  next: InboundContext;
  actions: InboundAction[];
  /** Set when the input was ignored, saying why (for a debug log line). */
  ignored?: string;
}

export function initialInboundContext(callerPartyId: string | null, canNegotiate: boolean): InboundContext {
  return { state: CallState.Preparing, callerPartyId, canNegotiate, hadMedia: false };
}

function end(ctx: InboundContext, party: "local" | "remote", reason: EndReason, send?: InboundAction): InboundTransition {
  const actions: InboundAction[] = [{ kind: "clear_timer", timer: "iceDisconnected" }];
  if (send !== undefined) actions.push(send);
  actions.push({ kind: "terminate", party, reason });
  return { next: { ...ctx, state: CallState.Ended }, actions };
}

function ignore(ctx: InboundContext, why: string): InboundTransition {
  return { next: ctx, actions: [], ignored: why };
}

/** A local ending: declined before our answer went out, hung up after. */
function endLocally(ctx: InboundContext, reason: HangupReason): InboundTransition {
  if (ctx.state === CallState.Preparing) return end(ctx, "local", reason, { kind: "decline", reason });
  return end(ctx, "local", reason, { kind: "send_hangup", reason });
}

function iceGaveUp(ctx: InboundContext): HangupReason {
  return ctx.hadMedia ? "ice_timeout" : "ice_failed";
}

export function inboundTransition(ctx: InboundContext, input: InboundInput): InboundTransition {
  const { state } = ctx;
  if (state === CallState.Ended) return ignore(ctx, "call already ended");
  const answered = state === CallState.Connecting || state === CallState.Connected;
  const fromCaller = (partyId: string | null): boolean => partyId === ctx.callerPartyId;

  switch (input.kind) {
    case "answer_sent":
      if (state !== CallState.Preparing) return ignore(ctx, "answer already sent");
      // The ICE timer runs until ICE first connects too: without the caller's candidates libwebrtc stays in
      // "new"/"checking" for ever, and the call must not hang on.
      return { next: { ...ctx, state: CallState.Connecting }, actions: [{ kind: "start_timer", timer: "iceDisconnected" }] };

    case "remote_hangup":
      if (!fromCaller(input.partyId)) return ignore(ctx, `hangup from party ${String(input.partyId)}, not the caller's`);
      // Before our answer: they gave up ringing. After: they ended the call. Nothing goes back either way.
      return end(ctx, "remote", "remote_hangup");

    case "select_answer":
      if (!fromCaller(input.partyId)) return ignore(ctx, `select_answer from party ${String(input.partyId)}, not the caller's`);
      if (input.selectedUs) return ignore(ctx, "our answer was selected");
      // Spec: a callee that sees another party selected ends the call silently.
      return end(ctx, "remote", "answered_elsewhere");

    case "negotiate":
      if (!fromCaller(input.partyId)) return ignore(ctx, `negotiate from party ${String(input.partyId)}, not the caller's`);
      if (!ctx.canNegotiate) return ignore(ctx, "negotiate in a version-0 call");
      if (input.expired) return ignore(ctx, "negotiate older than its lifetime");
      if (input.description === "answer") return ignore(ctx, "a negotiate answer, but we sent no offer");
      if (!answered) return ignore(ctx, "negotiate before our answer was sent");
      return { next: ctx, actions: [{ kind: "answer_negotiation" }] };

    case "remote_left":
      return end(ctx, "remote", "remote_hangup");

    case "timer":
      if (!answered) return ignore(ctx, "ICE timer before our answer");
      return end(ctx, "local", iceGaveUp(ctx), { kind: "send_hangup", reason: iceGaveUp(ctx) });

    case "ice":
      return iceTransition(ctx, input.state);

    case "local_hangup":
    case "failure":
      return endLocally(ctx, input.reason);
  }
}

function iceTransition(ctx: InboundContext, ice: IceState): InboundTransition {
  // The session re-reports the ICE state right after answer_sent, so nothing is lost by waiting.
  if (ctx.state === CallState.Preparing) return ignore(ctx, `ICE ${ice} before our answer was sent`);
  switch (ice) {
    case "connected":
    case "completed":
      return {
        next: { ...ctx, state: CallState.Connected, hadMedia: true },
        actions: [{ kind: "clear_timer", timer: "iceDisconnected" }],
      };
    case "disconnected":
      return { next: ctx, actions: [{ kind: "start_timer", timer: "iceDisconnected" }] };
    case "failed":
      // A version-1 caller restarts ICE on failure (matrix-js-sdk: restartIce → m.call.negotiate):
      // give it the disconnected grace period. A version-0 caller cannot, so that is the end.
      if (ctx.canNegotiate) return { next: ctx, actions: [{ kind: "start_timer", timer: "iceDisconnected" }] };
      return end(ctx, "local", iceGaveUp(ctx), { kind: "send_hangup", reason: iceGaveUp(ctx) });
    case "new":
    case "checking":
    case "closed":
      return ignore(ctx, `ICE ${ice}`);
  }
}
