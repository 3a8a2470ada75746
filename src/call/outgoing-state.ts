/**
 * The state machine of an outgoing (bot-placed) call, as a pure function: no I/O, no timers.
 * The call core (call-core.ts) feeds it events and carries out the actions it returns, handing
 * `accept_answer` to OutgoingSignalling. Behaviour follows matrix-js-sdk `src/webrtc/call.ts` and
 * the spec's VoIP module. States: Preparing → Ringing → Connecting → Connected → Ended.
 */
import { CallState, iceGaveUp, iceStep, ignore } from "./state.ts";
import type { CoreAction, CoreInput, EndReason, MachineContext, Step } from "./state.ts";
import type { HangupReason } from "./wire.ts";

export type OutgoingInput =
  | CoreInput
  | { kind: "invite_sent" }
  | { kind: "answer"; partyId: string | null }
  | { kind: "remote_hangup"; partyId: string | null; reason: string | undefined }
  | { kind: "remote_reject"; partyId: string | null }
  /** Glare: the other side's call to this room won (see glare.ts), so ours is abandoned. */
  | { kind: "replaced" };

export type OutgoingAction = CoreAction | { kind: "accept_answer" };

export interface OutgoingContext extends MachineContext {
  /** The party whose answer won; null for a party that sent none (v0). undefined until an answer is accepted. */
  chosenPartyId: string | null | undefined;
}

export type OutgoingStep = Step<OutgoingContext, OutgoingAction>;

export function initialOutgoingContext(): OutgoingContext {
  return { state: CallState.Preparing, chosenPartyId: undefined, hadMedia: false };
}

function end(ctx: OutgoingContext, party: "local" | "remote", reason: EndReason, send?: HangupReason): OutgoingStep {
  const all: OutgoingAction[] = [
    { kind: "clear_timer", timer: "invite" },
    { kind: "clear_timer", timer: "iceDisconnected" },
  ];
  if (send !== undefined) all.push({ kind: "send_hangup", reason: send });
  all.push({ kind: "terminate", party, reason });
  return { next: { ...ctx, state: CallState.Ended }, actions: all };
}

export function outgoingTransition(ctx: OutgoingContext, input: OutgoingInput): OutgoingStep {
  const { state } = ctx;
  if (state === CallState.Ended) return ignore(ctx, "call already ended");

  switch (input.kind) {
    case "invite_sent":
      if (state !== CallState.Preparing) return ignore(ctx, "invite already sent");
      return { next: { ...ctx, state: CallState.Ringing }, actions: [{ kind: "start_timer", timer: "invite" }] };

    case "answer":
      if (state === CallState.Preparing) return ignore(ctx, "answer before our invite was sent");
      if (state !== CallState.Ringing) return ignore(ctx, "another answer was already accepted");
      // The ICE timer also runs until ICE first connects: a callee whose candidates never arrive (or whose
      // network is gone) leaves libwebrtc in "new"/"checking" for ever, and the call must not hang on.
      return {
        next: { ...ctx, state: CallState.Connecting, chosenPartyId: input.partyId },
        actions: [{ kind: "clear_timer", timer: "invite" }, { kind: "accept_answer" }, { kind: "start_timer", timer: "iceDisconnected" }],
      };

    case "remote_reject":
    case "remote_hangup":
      if (state === CallState.Preparing) return ignore(ctx, "hangup before our invite was sent");
      if (state === CallState.Ringing) return end(ctx, "remote", "declined");
      if (input.partyId !== ctx.chosenPartyId) return ignore(ctx, `from party ${String(input.partyId)}, not the chosen one`);
      if (input.kind === "remote_reject") return ignore(ctx, "reject after an answer was accepted");
      return end(ctx, "remote", "remote_hangup");

    case "remote_left":
      // The peer is gone from the room: nobody is left to tell, so nothing is sent.
      return end(ctx, "remote", state === CallState.Preparing || state === CallState.Ringing ? "declined" : "remote_hangup");

    case "timer":
      if (input.timer === "invite") {
        if (state !== CallState.Ringing) return ignore(ctx, "invite timer after ringing");
        return end(ctx, "local", "invite_timeout", "invite_timeout");
      }
      if (state !== CallState.Connecting && state !== CallState.Connected) return ignore(ctx, "ICE timer outside a call");
      return end(ctx, "local", iceGaveUp(ctx), iceGaveUp(ctx));

    case "ice":
      return iceStep(ctx, input.state, () => end(ctx, "local", iceGaveUp(ctx), iceGaveUp(ctx)));

    case "local_hangup":
    case "failure":
      // Preparing: nothing was sent, so there is nobody to send a hangup to.
      if (state === CallState.Preparing) return end(ctx, "local", input.reason);
      return end(ctx, "local", input.reason, input.reason);

    case "replaced":
      // Preparing: nothing was sent, so ours just disappears. Ringing: the invite is out, and the
      // spec's hangup reasons have no "replaced", so the other devices are told user_hangup.
      if (state === CallState.Preparing) return end(ctx, "local", "replaced");
      if (state === CallState.Ringing) return end(ctx, "local", "replaced", "user_hangup");
      return ignore(ctx, "our call was already answered: not glare");
  }
}
