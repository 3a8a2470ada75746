/**
 * What both call state machines share (outgoing-state.ts: a call the bot places; incoming-state.ts: a
 * call placed to the bot), as pure functions: the states, the inputs and actions the call core
 * (call-core.ts) produces and carries out itself, and the ICE sub-transition. No I/O, no timers.
 */
import type { HangupReason } from "./wire.ts";

export enum CallState {
  /** Outgoing: creating the offer; incoming: applying the offer and making the answer. Nothing sent yet. */
  Preparing = "preparing",
  /** Outgoing only: the invite is out (handed to the homeserver); waiting for an answer. */
  Ringing = "ringing",
  /** An answer was accepted (outgoing) or sent (incoming); ICE is connecting. */
  Connecting = "connecting",
  /** ICE connected: media flows. */
  Connected = "connected",
  Ended = "ended",
}

/** `iceDisconnected` runs while ICE is not connected: from the answer until it first connects, and while it is disconnected. */
export type Timer = "invite" | "iceDisconnected";

/** Why a call ended, as reported by the core (`party` says who ended it). */
export type EndReason = HangupReason | "declined" | "remote_hangup" | "answered_elsewhere" | "replaced";

export type IceState = "checking" | "connected" | "completed" | "disconnected" | "failed" | "closed" | "new";

/** Inputs every call has, whatever its signalling: the core makes them (peer connection, timers, the user, the room). */
export type CoreInput =
  | { kind: "ice"; state: IceState }
  | { kind: "timer"; timer: Timer }
  /** The other party left the room. */
  | { kind: "remote_left" }
  | { kind: "local_hangup"; reason: HangupReason }
  | { kind: "failure"; reason: HangupReason };

/** Actions the core carries out itself; a machine's other actions go to its direction's signalling. */
export type CoreAction =
  | { kind: "send_hangup"; reason: HangupReason }
  | { kind: "start_timer"; timer: Timer }
  | { kind: "clear_timer"; timer: Timer }
  | { kind: "terminate"; party: "local" | "remote"; reason: EndReason };

const CORE_ACTIONS: ReadonlySet<string> = new Set<CoreAction["kind"]>(["send_hangup", "start_timer", "clear_timer", "terminate"]);

export function isCoreAction(action: { kind: string }): action is CoreAction {
  return CORE_ACTIONS.has(action.kind);
}

/** The part of a machine's context the core reads. */
export interface MachineContext {
  state: CallState;
  /** ICE reached connected at least once (media flowed). */
  hadMedia: boolean;
}

/** One step of a machine: the next context, the actions to carry out in order, or why the input was ignored. */
export interface Step<C, A> {
  next: C;
  actions: A[];
  /** Set when the input was ignored, saying why (for a debug log line). */
  ignored?: string;
}

export function ignore<C, A>(ctx: C, why: string): Step<C, A> {
  return { next: ctx, actions: [], ignored: why };
}

/** ICE gave up: `ice_failed` if media never flowed, `ice_timeout` once it had (spec, m.call.hangup reasons). */
export function iceGaveUp(ctx: MachineContext): HangupReason {
  return ctx.hadMedia ? "ice_timeout" : "ice_failed";
}

/**
 * The ICE sub-transition both directions share. ICE counts only once there is an answer (Connecting or
 * Connected); `failed` is the direction's to decide (an outgoing v0 call ends, an incoming v1 call waits
 * for the caller's ICE restart).
 */
export function iceStep<C extends MachineContext, A>(
  ctx: C,
  ice: IceState,
  failed: () => Step<C, A | CoreAction>,
): Step<C, A | CoreAction> {
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
      return failed();
    case "new":
    case "checking":
    case "closed":
      return ignore(ctx, `ICE ${ice}`);
  }
}
