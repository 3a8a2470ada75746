/**
 * The signalling of a call the bot places (version 0): the offer and m.call.invite, the callee's
 * answers (the first wins) and their candidates, held per party until an answer is chosen. The
 * lifecycle, peer connection, camera and timers are the call core's (call-core.ts).
 */
import type { CameraLease } from "../media/camera-hub.ts";
import type { CandidateWire } from "../rtc/candidate.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CallCore, type CallPort, type CallWhere, type SendCallEvent, type Signalling } from "./call-core.ts";
import { initialOutgoingContext, outgoingTransition, type OutgoingContext, type OutgoingInput } from "./outgoing-state.ts";
import { CallState, type Timer } from "./state.ts";
import {
  buildInvite,
  CallEventType,
  OUR_VERSION,
  partyOf,
  usableCandidates,
  type AnswerIn,
  type CandidatesIn,
  type HangupIn,
  type RejectIn,
} from "./wire.ts";

export interface OutgoingCallOptions extends Omit<CallWhere, "peer"> {
  invitee: string;
  lifetimeMs: number;
  iceDisconnectedTimeoutMs: number;
  iceServers: RTCIceServer[];
  /** How long to let ICE gather into the offer before sending the invite (spec: about 200 ms). */
  gatherIntoOfferMs?: number;
}

/** Remote candidates held per party before an answer is chosen; more are dropped. */
const MAX_HELD_PER_PARTY = 200;
/**
 * Parties whose candidates are held while ringing: one per device of the invitee that rings (Element: one per
 * signed-in client). The party ID is the sender's to choose, so without a cap one user could make the bot hold
 * 200 candidates for every ID they invent. A device past the cap still has the candidates inside its answer's SDP.
 */
export const MAX_PENDING_PARTIES = 8;

type AcceptAnswer = { kind: "accept_answer" };

export class OutgoingSignalling implements Signalling<OutgoingContext, OutgoingInput, AcceptAnswer> {
  readonly direction = "outgoing";
  readonly version = OUR_VERSION;
  readonly transition = outgoingTransition;
  readonly initialContext = initialOutgoingContext;
  /** Remote candidates per party, held until an answer is chosen (then only that party's are used). */
  private readonly pending = new Map<string | null, CandidateWire[]>();
  private answer: { sdp: string; partyId: string | null } | undefined;
  private partyCapLogged = false;

  constructor(
    private readonly opts: OutgoingCallOptions,
    private readonly call: CallPort<OutgoingContext, OutgoingInput>,
    private readonly log: Logger,
  ) {}

  timerMs(timer: Timer): number {
    return timer === "invite" ? this.opts.lifetimeMs : this.opts.iceDisconnectedTimeoutMs;
  }

  /** Creates the offer and sends the invite. Resolves once the invite is out (or the call ended). */
  async start(): Promise<void> {
    const call = this.call;
    try {
      const link = call.openLink(this.opts.iceServers, {});
      call.attachCamera(link.pc);
      await link.setLocal(await link.pc.createOffer());
      await link.gatherBriefly(this.opts.gatherIntoOfferMs ?? 200);
      if (call.context.state !== CallState.Preparing) return;
      const sdp = link.takeLocalSdp();
      // From here the invite is on its way: an ending now must send a hangup (queued after the invite).
      call.dispatch({ kind: "invite_sent" });
      const sending = call.send(CallEventType.Invite, { ...buildInvite(call.base(), sdp, this.opts.lifetimeMs, this.opts.invitee) });
      if (this.ringing()) link.startTrickle();
      await sending;
    } catch (err: unknown) {
      this.log.error({ err: errorMessage(err) }, "could not place the call");
      call.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }

  onAnswer(content: AnswerIn): void {
    const partyId = partyOf(content);
    // Only the first answer while ringing is taken; the state machine decides, this records its SDP.
    if (this.ringing()) this.answer = { sdp: content.answer.sdp, partyId };
    this.call.dispatch({ kind: "answer", partyId });
  }

  onCandidates(content: CandidatesIn): void {
    const ctx = this.call.context;
    if (ctx.state === CallState.Ended) return;
    const partyId = partyOf(content);
    const chosen = ctx.chosenPartyId;
    if (chosen !== undefined && partyId !== chosen) {
      this.log.debug({ partyId }, "ignoring candidates from a party whose answer was not chosen");
      return;
    }
    const usable = usableCandidates(content);
    if (chosen !== undefined) {
      this.call.link?.addRemoteCandidates(usable);
      return;
    }
    let held = this.pending.get(partyId);
    if (held === undefined) {
      if (this.pending.size >= MAX_PENDING_PARTIES) {
        if (!this.partyCapLogged)
          this.log.warn(
            { max: MAX_PENDING_PARTIES },
            "candidates from more parties than a ringing call holds; the new parties' are dropped",
          );
        this.partyCapLogged = true;
        return;
      }
      held = [];
      this.pending.set(partyId, held);
    }
    held.push(...usable.slice(0, Math.max(0, MAX_HELD_PER_PARTY - held.length)));
  }

  onHangup(content: HangupIn): void {
    this.call.dispatch({ kind: "remote_hangup", partyId: partyOf(content), reason: content.reason });
  }

  onReject(content: RejectIn): void {
    this.call.dispatch({ kind: "remote_reject", partyId: partyOf(content) });
  }

  /** Aborted by glare: the other side's call to this room won; ours is hung up (if its invite went out). */
  replaced(): void {
    this.call.dispatch({ kind: "replaced" });
  }

  /** Its one action: accept_answer. */
  run(): void {
    void this.acceptAnswer();
  }

  ended(): void {
    this.pending.clear();
  }

  /** Read anew each time: dispatching may have moved the call on. */
  private ringing(): boolean {
    return this.call.context.state === CallState.Ringing;
  }

  private async acceptAnswer(): Promise<void> {
    const link = this.call.link;
    const answer = this.answer;
    if (!link || !answer || this.call.context.state === CallState.Ended) return;
    try {
      await link.setRemote("answer", answer.sdp);
      link.remoteDescriptionSet();
      const held = this.pending.get(answer.partyId) ?? [];
      link.addRemoteCandidates(held);
      this.pending.clear();
      this.log.info({ partyId: answer.partyId, heldCandidates: held.length }, "answer accepted");
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, "the answer's SDP was refused");
      this.call.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }
}

/** A call the bot places: the call core with the outgoing signalling. */
export type OutgoingCall = CallCore<OutgoingContext, OutgoingInput, AcceptAnswer, OutgoingSignalling>;

export function createOutgoingCall(opts: OutgoingCallOptions, lease: CameraLease, send: SendCallEvent, log: Logger): OutgoingCall {
  return new CallCore({ ...opts, peer: opts.invitee }, lease, send, log, (port) => new OutgoingSignalling(opts, port, log));
}
