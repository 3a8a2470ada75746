/**
 * The call state machine of an outgoing (bot-placed) call, as a pure function: no I/O, no timers.
 * `CallSession` feeds it events and carries out the actions it returns.
 * Behaviour follows matrix-js-sdk `src/webrtc/call.ts` and the spec's VoIP module.
 */
import type { HangupReason } from "./wire.ts";

export enum CallState {
  /** Creating the offer; nothing sent yet. */
  Preparing = "preparing",
  /** The invite is out (handed to the homeserver); waiting for an answer. */
  Ringing = "ringing",
  /** An answer was accepted; ICE is connecting. */
  Connecting = "connecting",
  /** ICE connected: media flows. */
  Connected = "connected",
  Ended = "ended",
}

/** `iceDisconnected` runs while ICE is not connected: from the answer until it first connects, and while it is disconnected. */
export type Timer = "invite" | "iceDisconnected";

/** Why a call ended, as reported by the session (`party` says who ended it). */
export type EndReason = HangupReason | "declined" | "remote_hangup" | "answered_elsewhere" | "replaced";

export type CallInput =
  | { kind: "invite_sent" }
  | { kind: "answer"; partyId: string | null }
  | { kind: "remote_hangup"; partyId: string | null; reason: string | undefined }
  | { kind: "remote_reject"; partyId: string | null }
  | { kind: "remote_left" }
  | { kind: "timer"; timer: Timer }
  | { kind: "ice"; state: "checking" | "connected" | "completed" | "disconnected" | "failed" | "closed" | "new" }
  | { kind: "local_hangup"; reason: HangupReason }
  /** Glare: the other side's call to this room won (see glare.ts), so ours is abandoned. */
  | { kind: "replaced" }
  | { kind: "failure"; reason: HangupReason };

export type CallAction =
  | { kind: "accept_answer" }
  | { kind: "send_hangup"; reason: HangupReason }
  | { kind: "start_timer"; timer: Timer }
  | { kind: "clear_timer"; timer: Timer }
  | { kind: "terminate"; party: "local" | "remote"; reason: EndReason };

export interface CallContext {
  state: CallState;
  /** The party whose answer won; null for a party that sent none (v0). undefined until an answer is accepted. */
  chosenPartyId: string | null | undefined;
  /** ICE reached connected at least once (media flowed). */
  hadMedia: boolean;
}

export interface Transition {
  next: CallContext;
  actions: CallAction[];
  /** Set when the input was ignored, saying why (for a debug log line). */
  ignored?: string;
}

export function initialContext(): CallContext {
  return { state: CallState.Preparing, chosenPartyId: undefined, hadMedia: false };
}

function end(ctx: CallContext, actions: CallAction[], party: "local" | "remote", reason: EndReason, send?: HangupReason): Transition {
  const all: CallAction[] = [{ kind: "clear_timer", timer: "invite" }, { kind: "clear_timer", timer: "iceDisconnected" }, ...actions];
  if (send !== undefined) all.push({ kind: "send_hangup", reason: send });
  all.push({ kind: "terminate", party, reason });
  return { next: { ...ctx, state: CallState.Ended }, actions: all };
}

function ignore(ctx: CallContext, why: string): Transition {
  return { next: ctx, actions: [], ignored: why };
}

/** ICE gave up: `ice_failed` if media never flowed, `ice_timeout` once it had (spec, m.call.hangup reasons). */
function iceGaveUp(ctx: CallContext): HangupReason {
  return ctx.hadMedia ? "ice_timeout" : "ice_failed";
}

export function transition(ctx: CallContext, input: CallInput): Transition {
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
      if (state === CallState.Ringing) return end(ctx, [], "remote", "declined");
      if (input.partyId !== ctx.chosenPartyId) return ignore(ctx, `from party ${String(input.partyId)}, not the chosen one`);
      if (input.kind === "remote_reject") return ignore(ctx, "reject after an answer was accepted");
      return end(ctx, [], "remote", "remote_hangup");

    case "remote_left":
      if (state === CallState.Preparing) return end(ctx, [], "remote", "declined");
      // The peer is gone from the room: nobody is left to tell, so nothing is sent.
      return end(ctx, [], "remote", state === CallState.Ringing ? "declined" : "remote_hangup");

    case "timer":
      if (input.timer === "invite") {
        if (state !== CallState.Ringing) return ignore(ctx, "invite timer after ringing");
        return end(ctx, [], "local", "invite_timeout", "invite_timeout");
      }
      if (state !== CallState.Connecting && state !== CallState.Connected) return ignore(ctx, "ICE timer outside a call");
      return end(ctx, [], "local", iceGaveUp(ctx), iceGaveUp(ctx));

    case "ice":
      return iceTransition(ctx, input.state);

    case "local_hangup":
      if (state === CallState.Preparing) return end(ctx, [], "local", input.reason);
      return end(ctx, [], "local", input.reason, input.reason);

    case "failure":
      if (state === CallState.Preparing) return end(ctx, [], "local", input.reason);
      return end(ctx, [], "local", input.reason, input.reason);

    case "replaced":
      // Preparing: nothing was sent, so ours just disappears. Ringing: the invite is out, and the
      // spec's hangup reasons have no "replaced", so the other devices are told user_hangup.
      if (state === CallState.Preparing) return end(ctx, [], "local", "replaced");
      if (state === CallState.Ringing) return end(ctx, [], "local", "replaced", "user_hangup");
      return ignore(ctx, "our call was already answered: not glare");
  }
}

function iceTransition(ctx: CallContext, ice: Extract<CallInput, { kind: "ice" }>["state"]): Transition {
  const { state } = ctx;
  if (state !== CallState.Connecting && state !== CallState.Connected) return ignore(ctx, `ICE ${ice} before an answer`);
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
      return end(ctx, [], "local", iceGaveUp(ctx), iceGaveUp(ctx));
    case "new":
    case "checking":
    case "closed":
      return ignore(ctx, `ICE ${ice}`);
  }
}
