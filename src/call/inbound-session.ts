import type { CameraLease } from "../media/camera-hub.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { inboundTransition, initialInboundContext, type InboundAction, type InboundContext, type InboundInput } from "./inbound-state.ts";
import { PeerLink } from "../rtc/peer-link.ts";
import { partyOf, type SendCallEvent } from "./session.ts";
import { SessionBase } from "./session-base.ts";
import { CallState, type EndReason } from "./state.ts";
import {
  buildAnswer,
  buildCandidates,
  buildHangup,
  buildNegotiateAnswer,
  buildReject,
  CallEventType,
  expired,
  usableCandidates,
  V1,
  type CallBase,
  type CandidatesIn,
  type HangupIn,
  type HangupReason,
  type NegotiateIn,
  type SelectAnswerIn,
} from "./wire.ts";

export interface InboundSessionOptions {
  callId: string;
  /** Our party ID (the manager's, stable). */
  partyId: string;
  roomId: string;
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

/**
 * One call placed to the bot: answers the caller's offer with the camera, then follows the callee
 * state machine (`inboundTransition`) and carries out its actions. Every ending goes through
 * `terminate()`. Every event it sends is version "1" with our party_id.
 */
export class InboundCallSession extends SessionBase {
  readonly direction = "incoming";
  private ctx: InboundContext;
  private iceTimer: NodeJS.Timeout | undefined;
  /** The SDP of the negotiate offer being dispatched (read by the answer_negotiation action). */
  private offer: string | undefined;
  /** Renegotiations run one at a time. */
  private negotiations: Promise<void> = Promise.resolve();

  constructor(
    readonly opts: InboundSessionOptions,
    lease: CameraLease,
    private readonly send: SendCallEvent,
    private readonly log: Logger,
  ) {
    super(opts, lease, log);
    this.ctx = initialInboundContext(opts.callerPartyId, opts.inviteV1);
  }

  get peer(): string {
    return this.opts.caller;
  }
  get state(): CallState {
    return this.ctx.state;
  }

  private base(): CallBase {
    return { call_id: this.opts.callId, version: V1, party_id: this.opts.partyId };
  }

  /** Applies the offer, adds the camera to its transceivers and sends the answer. */
  async start(): Promise<void> {
    try {
      const link = new PeerLink(
        this.opts.iceServers,
        ANSWER_TRICKLE,
        {
          iceState: (state) => {
            this.dispatch({ kind: "ice", state });
          },
          candidates: (batch) => {
            this.sendEvent(CallEventType.Candidates, { ...buildCandidates(this.base(), batch) });
          },
        },
        this.log,
      );
      this.link = link;
      const pc = link.pc;
      await pc.setRemoteDescription({ type: "offer", sdp: this.opts.offerSdp });
      link.remoteDescriptionSet();
      if (this.ctx.state !== CallState.Preparing) return;
      const kinds = new Set(pc.getTransceivers().map((t) => t.receiver.track.kind));
      if (!kinds.has("video")) this.log.info("the offer has no video: answering with the camera's audio only");
      this.feed.attach(pc, kinds);
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await link.gatherBriefly(this.opts.gatherIntoAnswerMs ?? 200);
      if (this.isEnded()) return;
      const sdp = link.takeLocalSdp();
      // From here the answer is on its way: an ending now sends a hangup (queued after the answer).
      this.dispatch({ kind: "answer_sent" });
      const sending = this.send(CallEventType.Answer, { ...buildAnswer(this.base(), sdp) });
      link.startTrickle();
      // ICE may have moved while the answer was being made; the machine ignored that until now.
      this.dispatch({ kind: "ice", state: pc.iceConnectionState });
      await sending;
      this.log.info("answer sent");
    } catch (err: unknown) {
      this.log.error({ err: errorMessage(err) }, "could not answer the call");
      this.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }

  onCandidates(content: CandidatesIn): void {
    if (this.ctx.state === CallState.Ended) return;
    const partyId = partyOf(content);
    if (partyId !== this.ctx.callerPartyId) {
      this.log.debug({ partyId }, "ignoring candidates from a party other than the caller's");
      return;
    }
    this.link?.addRemoteCandidates(usableCandidates(content));
  }

  onHangup(content: HangupIn): void {
    this.dispatch({ kind: "remote_hangup", partyId: partyOf(content) });
  }

  onSelectAnswer(content: SelectAnswerIn): void {
    this.dispatch({ kind: "select_answer", partyId: partyOf(content), selectedUs: content.selected_party_id === this.opts.partyId });
  }

  /** `ageMs`: how old the event is, against its lifetime. */
  onNegotiate(content: NegotiateIn, ageMs: number): void {
    this.offer = content.description.type === "offer" ? content.description.sdp : undefined;
    this.dispatch({ kind: "negotiate", partyId: partyOf(content), description: content.description.type, expired: expired(ageMs, content.lifetime) });
    this.offer = undefined;
  }

  /** The caller left the room. */
  remoteLeft(): void {
    this.dispatch({ kind: "remote_left" });
  }

  hangup(reason: HangupReason = "user_hangup"): void {
    this.dispatch({ kind: "local_hangup", reason });
  }

  private dispatch(input: InboundInput): void {
    const before = this.ctx.state;
    const { next, actions, ignored } = inboundTransition(this.ctx, input);
    this.ctx = next;
    if (ignored !== undefined) this.log.debug({ input: input.kind, why: ignored }, "call input ignored");
    if (next.state !== before) {
      this.log.info({ from: before, to: next.state }, "call state");
      this.emit("state", next.state);
    }
    for (const action of actions) this.run(action);
  }

  private run(action: InboundAction): void {
    switch (action.kind) {
      case "answer_negotiation": {
        const offer = this.offer;
        if (offer !== undefined) this.negotiations = this.negotiations.then(() => this.answerNegotiation(offer));
        return;
      }
      case "send_hangup":
        this.sendEvent(CallEventType.Hangup, { ...buildHangup(this.base(), action.reason) });
        return;
      case "decline":
        if (this.opts.inviteV1) this.sendEvent(CallEventType.Reject, { ...buildReject(this.opts.callId, this.opts.partyId) });
        else this.sendEvent(CallEventType.Hangup, { ...buildHangup(this.base(), action.reason) });
        return;
      case "start_timer":
        this.iceTimer ??= setTimeout(() => {
          this.iceTimer = undefined;
          this.dispatch({ kind: "timer", timer: "iceDisconnected" });
        }, this.opts.iceDisconnectedTimeoutMs);
        return;
      case "clear_timer":
        clearTimeout(this.iceTimer);
        this.iceTimer = undefined;
        return;
      case "terminate":
        this.terminate(action.party, action.reason);
        return;
    }
  }

  /** Their m.call.negotiate offer (hold, resume, ICE restart): answered with an m.call.negotiate answer. */
  private async answerNegotiation(sdp: string): Promise<void> {
    const link = this.link;
    if (!link || this.isEnded()) return;
    try {
      // An ICE restart gathers a new generation of candidates, trickled from scratch.
      link.renewTrickle();
      await link.pc.setRemoteDescription({ type: "offer", sdp });
      const answer = await link.pc.createAnswer();
      await link.pc.setLocalDescription(answer);
      await link.gatherBriefly(this.opts.gatherIntoAnswerMs ?? 200);
      if (this.isEnded()) return;
      const local = link.takeLocalSdp();
      this.sendEvent(CallEventType.Negotiate, { ...buildNegotiateAnswer(this.base(), local, this.opts.negotiateLifetimeMs ?? 60_000) });
      link.startTrickle();
      this.log.info("renegotiation answered");
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, "could not answer a renegotiation");
    }
  }

  private isEnded(): boolean {
    return this.ctx.state === CallState.Ended;
  }

  private sendEvent(type: string, content: Record<string, unknown>): void {
    this.send(type, content).catch((err: unknown) => {
      this.log.warn({ type, err: errorMessage(err) }, "could not send a call event");
    });
  }

  /** The one way a call ends: stop trickling, close the peer connection, release the camera. */
  private terminate(party: "local" | "remote", reason: EndReason): void {
    clearTimeout(this.iceTimer);
    this.iceTimer = undefined;
    this.link?.close();
    this.link = undefined;
    this.feed.release();
    this.log.info({ party, reason }, "call ended");
    this.emit("ended", { callId: this.opts.callId, roomId: this.opts.roomId, direction: this.direction, party, reason, connected: this.ctx.hadMedia });
  }
}
