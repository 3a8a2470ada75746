/**
 * The signalling of a call placed to the bot (the callee role): applies the caller's offer, answers
 * it with the camera (m.call.answer, version "1" with our party_id), takes only the caller's party's
 * candidates, and answers its m.call.negotiate offers (hold, resume, ICE restart). The lifecycle,
 * peer connection, camera and timers are the call core's (call-core.ts).
 */
import type { CameraLease } from "../media/camera-hub.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CallCore, type CallPort, type CallWhere, type SendCallEvent, type Signalling } from "./call-core.ts";
import { incomingTransition, initialIncomingContext, type IncomingContext, type IncomingInput } from "./incoming-state.ts";
import { CallState } from "./state.ts";
import {
  buildAnswer,
  buildHangup,
  buildNegotiateAnswer,
  buildReject,
  CallEventType,
  expired,
  partyOf,
  usableCandidates,
  V1,
  type CandidatesIn,
  type HangupIn,
  type HangupReason,
  type NegotiateIn,
  type SelectAnswerIn,
} from "./wire.ts";

export interface IncomingCallOptions extends Omit<CallWhere, "peer"> {
  /** The user who called. */
  caller: string;
  /** The invite's party (null for a version-0 invite): only its events count. */
  callerPartyId: string | null;
  /** The invite was version "1": it may be renegotiated, and is declined with m.call.reject. */
  inviteV1: boolean;
  offerSdp: string;
  iceDisconnectedTimeoutMs: number;
  iceServers: RTCIceServer[];
  /** How long ICE may gather into the answer before it is sent (spec: about 200 ms). */
  gatherIntoAnswerMs?: number;
  /** `lifetime` of our m.call.negotiate answers (ms). */
  negotiateLifetimeMs?: number;
}

/** Spec: candidates after an answer are batched about every 500 ms. */
const ANSWER_TRICKLE = { firstDelayMs: 500, nextDelayMs: 500 };

type IncomingOwnAction = { kind: "answer_negotiation" } | { kind: "decline"; reason: HangupReason };

export class IncomingSignalling implements Signalling<IncomingContext, IncomingInput, IncomingOwnAction> {
  readonly direction = "incoming";
  readonly version = V1;
  readonly transition = incomingTransition;
  /** The SDP of the negotiate offer being dispatched (read by the answer_negotiation action). */
  private offer: string | undefined;
  /** Renegotiations run one at a time. */
  private negotiations: Promise<void> = Promise.resolve();

  constructor(
    private readonly opts: IncomingCallOptions,
    private readonly call: CallPort<IncomingContext, IncomingInput>,
    private readonly log: Logger,
  ) {}

  initialContext(): IncomingContext {
    return initialIncomingContext(this.opts.callerPartyId, this.opts.inviteV1);
  }

  /** Only the ICE timer runs on a call placed to the bot. */
  timerMs(): number {
    return this.opts.iceDisconnectedTimeoutMs;
  }

  /** Applies the offer, adds the camera to its transceivers and sends the answer. */
  async start(): Promise<void> {
    const call = this.call;
    try {
      const link = call.openLink(this.opts.iceServers, ANSWER_TRICKLE);
      const pc = link.pc;
      await link.setRemote("offer", this.opts.offerSdp);
      link.remoteDescriptionSet();
      if (call.context.state !== CallState.Preparing) return;
      const kinds = new Set(pc.getTransceivers().map((t) => t.receiver.track.kind));
      if (!kinds.has("video")) this.log.info("the offer has no video: answering with the camera's audio only");
      call.attachCamera(pc, kinds);
      await link.setLocal(await pc.createAnswer());
      await link.gatherBriefly(this.opts.gatherIntoAnswerMs ?? 200);
      if (this.isEnded()) return;
      const sdp = link.takeLocalSdp();
      // From here the answer is on its way: an ending now sends a hangup (queued after the answer).
      call.dispatch({ kind: "answer_sent" });
      const sending = call.send(CallEventType.Answer, { ...buildAnswer(call.base(), sdp) });
      link.startTrickle();
      // ICE may have moved while the answer was being made; the machine ignored that until now.
      call.dispatch({ kind: "ice", state: pc.iceConnectionState });
      await sending;
      this.log.info("answer sent");
    } catch (err: unknown) {
      this.log.error({ err: errorMessage(err) }, "could not answer the call");
      call.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }

  onCandidates(content: CandidatesIn): void {
    if (this.isEnded()) return;
    const partyId = partyOf(content);
    if (partyId !== this.call.context.callerPartyId) {
      this.log.debug({ partyId }, "ignoring candidates from a party other than the caller's");
      return;
    }
    this.call.link?.addRemoteCandidates(usableCandidates(content));
  }

  onHangup(content: HangupIn): void {
    this.call.dispatch({ kind: "remote_hangup", partyId: partyOf(content) });
  }

  onSelectAnswer(content: SelectAnswerIn): void {
    this.call.dispatch({ kind: "select_answer", partyId: partyOf(content), selectedUs: content.selected_party_id === this.opts.partyId });
  }

  /** `ageMs`: how old the event is, against its lifetime. */
  onNegotiate(content: NegotiateIn, ageMs: number): void {
    this.offer = content.description.type === "offer" ? content.description.sdp : undefined;
    this.call.dispatch({
      kind: "negotiate",
      partyId: partyOf(content),
      description: content.description.type,
      expired: expired(ageMs, content.lifetime),
    });
    this.offer = undefined;
  }

  run(action: IncomingOwnAction): void {
    switch (action.kind) {
      case "answer_negotiation": {
        const offer = this.offer;
        if (offer !== undefined) this.negotiations = this.negotiations.then(() => this.answerNegotiation(offer));
        return;
      }
      case "decline":
        if (this.opts.inviteV1) this.call.sendEvent(CallEventType.Reject, { ...buildReject(this.opts.callId, this.opts.partyId) });
        else this.call.sendEvent(CallEventType.Hangup, { ...buildHangup(this.call.base(), action.reason) });
        return;
    }
  }

  ended(): void {
    this.offer = undefined;
  }

  /** Their m.call.negotiate offer (hold, resume, ICE restart): answered with an m.call.negotiate answer. */
  private async answerNegotiation(sdp: string): Promise<void> {
    const link = this.call.link;
    if (!link || this.isEnded()) return;
    try {
      // An ICE restart gathers a new generation of candidates, trickled from scratch.
      link.renewTrickle();
      await link.setRemote("offer", sdp);
      await link.setLocal(await link.pc.createAnswer());
      await link.gatherBriefly(this.opts.gatherIntoAnswerMs ?? 200);
      if (this.isEnded()) return;
      const local = link.takeLocalSdp();
      this.call.sendEvent(CallEventType.Negotiate, {
        ...buildNegotiateAnswer(this.call.base(), local, this.opts.negotiateLifetimeMs ?? 60_000),
      });
      link.startTrickle();
      this.log.info("renegotiation answered");
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, "could not answer a renegotiation");
    }
  }

  private isEnded(): boolean {
    return this.call.context.state === CallState.Ended;
  }
}

/** A call placed to the bot: the call core with the incoming signalling. */
export type IncomingCall = CallCore<IncomingContext, IncomingInput, IncomingOwnAction, IncomingSignalling>;

export function createIncomingCall(opts: IncomingCallOptions, lease: CameraLease, send: SendCallEvent, log: Logger): IncomingCall {
  return new CallCore({ ...opts, peer: opts.caller }, lease, send, log, (port) => new IncomingSignalling(opts, port, log));
}
