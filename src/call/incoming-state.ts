/**
 * The state machine of a call placed TO the bot (the callee role), as a pure function: no I/O, no
 * timers. The call core (call-core.ts) feeds it events and carries out the actions it returns,
 * handing `answer_negotiation` and `decline` to IncomingSignalling.
 *
 * It uses `CallState` without Ringing (the bot answers at once):
 *   Preparing  – the invite was accepted: offer set, camera tracks added, answer being made; nothing sent
 *   Connecting – our m.call.answer is out; ICE is connecting
 *   Connected  – ICE connected: media flows
 *   Ended
 * Only the caller's party counts (the invite's party_id; null for a version-0 invite).
 */
import { CallState, iceGaveUp, iceStep, ignore } from "./state.ts";
import type { CoreAction, CoreInput, EndReason, MachineContext, Step } from "./state.ts";
import type { HangupReason } from "./wire.ts";

export interface IncomingContext extends MachineContext {
  /** The caller's party ID from the invite; null for a version-0 caller. */
  callerPartyId: string | null;
  /** The invite was version "1" (our answer always is): m.call.negotiate is allowed. */
  canNegotiate: boolean;
}

export type IncomingInput =
  | CoreInput
  | { kind: "answer_sent" }
  | { kind: "remote_hangup"; partyId: string | null }
  | { kind: "select_answer"; partyId: string | null; selectedUs: boolean }
  | { kind: "negotiate"; partyId: string | null; description: "offer" | "answer"; expired: boolean };

export type IncomingAction =
  | CoreAction
  /** Apply their offer, answer it, send the answer in m.call.negotiate. */
  | { kind: "answer_negotiation" }
  /** Ending before our answer went out: decline (m.call.reject for a v1 invite; Element ignores a hangup then). */
  | { kind: "decline"; reason: HangupReason };

export type IncomingStep = Step<IncomingContext, IncomingAction>;

export function initialIncomingContext(callerPartyId: string | null, canNegotiate: boolean): IncomingContext {
  return { state: CallState.Preparing, callerPartyId, canNegotiate, hadMedia: false };
}

function end(ctx: IncomingContext, party: "local" | "remote", reason: EndReason, send?: IncomingAction): IncomingStep {
  const actions: IncomingAction[] = [{ kind: "clear_timer", timer: "iceDisconnected" }];
  if (send !== undefined) actions.push(send);
  actions.push({ kind: "terminate", party, reason });
  return { next: { ...ctx, state: CallState.Ended }, actions };
}

/** A local ending: declined before our answer went out, hung up after. */
function endLocally(ctx: IncomingContext, reason: HangupReason): IncomingStep {
  if (ctx.state === CallState.Preparing) return end(ctx, "local", reason, { kind: "decline", reason });
  return end(ctx, "local", reason, { kind: "send_hangup", reason });
}

export function incomingTransition(ctx: IncomingContext, input: IncomingInput): IncomingStep {
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
      if (input.timer !== "iceDisconnected") return ignore(ctx, "no invite timer on a call placed to the bot");
      if (!answered) return ignore(ctx, "ICE timer before our answer");
      return end(ctx, "local", iceGaveUp(ctx), { kind: "send_hangup", reason: iceGaveUp(ctx) });

    case "ice":
      // Before our answer ICE is ignored: the signalling re-reports the ICE state right after answer_sent.
      return iceStep(ctx, input.state, () =>
        // A version-1 caller restarts ICE on failure (matrix-js-sdk: restartIce → m.call.negotiate):
        // give it the disconnected grace period. A version-0 caller cannot, so that is the end.
        ctx.canNegotiate
          ? { next: ctx, actions: [{ kind: "start_timer", timer: "iceDisconnected" }] }
          : end(ctx, "local", iceGaveUp(ctx), { kind: "send_hangup", reason: iceGaveUp(ctx) }),
      );

    case "local_hangup":
    case "failure":
      return endLocally(ctx, input.reason);
  }
}
