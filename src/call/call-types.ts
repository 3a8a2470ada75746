/**
 * The call core's contracts: what a call is called with (CallWhere), what it says when it ends (CallEnd), its
 * events, what the core offers a direction's signalling (CallPort) and what a signalling must be (Signalling). Apart
 * from call-core.ts so that a new kind of signalling (MatrixRTC) reads the contract without the machinery.
 */
import type { CandidateBatcherOptions } from "../rtc/candidate-batcher.ts";
import type { PeerLink } from "../rtc/peer-link.ts";
import type { CallState, CoreAction, CoreInput, EndReason, MachineContext, Step, Timer } from "./state.ts";
import type { CallBase, CallVersion } from "./wire.ts";

export type CallDirection = "outgoing" | "incoming";

/** Sends one of the call's events into its room (in order, see CallManager). */
export type SendCallEvent = (type: string, content: Record<string, unknown>) => Promise<void>;

export interface CallEnd {
  callId: string;
  roomId: string;
  direction: CallDirection;
  party: "local" | "remote";
  reason: EndReason;
  /** Whether ICE ever connected (media flowed). */
  connected: boolean;
}

export interface CallEvents {
  state: [state: CallState];
  /** The call shows another camera now (!switch); talkback follows it. */
  camera: [name: string];
  ended: [end: CallEnd];
}

/** Where a call is and who with: its ID, its room, our party ID in it, and the other member. */
export interface CallWhere {
  callId: string;
  roomId: string;
  partyId: string;
  /** The other member of the call (the invitee of a call the bot places, the caller of one placed to it). */
  peer: string;
}

/** What the core offers its signalling. */
export interface CallPort<C, I extends { kind: string }> {
  readonly context: C;
  /** The peer connection, once openLink made it; undefined again once the call ended. */
  readonly link: PeerLink | undefined;
  /** The fields every event of this call carries. */
  base(): CallBase;
  dispatch(input: I | CoreInput): void;
  /** Makes the call's peer connection: ICE states go to the machine, local candidates out in m.call.candidates. */
  openLink(iceServers: RTCIceServer[], trickle: CandidateBatcherOptions): PeerLink;
  /** Puts the camera's tracks on the peer connection (`kinds`: what an offer has room for). */
  attachCamera(pc: RTCPeerConnection, kinds?: ReadonlySet<string>): void;
  /** Sends an event in the call's order; resolves once it is sent. */
  send: SendCallEvent;
  /** Sends an event nothing waits for; a failure is logged. */
  sendEvent(type: string, content: Record<string, unknown>): void;
}

/** The direction-specific part of a call: its machine, its timers, how it starts, and its own actions. */
export interface Signalling<C extends MachineContext, I extends { kind: string }, Own extends { kind: string }> {
  readonly direction: CallDirection;
  /** The `version` our events carry. */
  readonly version: CallVersion;
  initialContext(): C;
  transition(ctx: C, input: I | CoreInput): Step<C, Own | CoreAction>;
  timerMs(timer: Timer): number;
  /** Makes and sends the offer (outgoing) or the answer (incoming). */
  start(): Promise<void>;
  run(action: Own): void;
  /** The call ended: drop what the signalling still holds. */
  ended(): void;
}
