import type { CameraLease } from "../media/camera-hub.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { PeerLink } from "../rtc/peer-link.ts";
import { SessionBase } from "./session-base.ts";
import { CallState, initialContext, transition, type CallAction, type CallContext, type CallInput, type EndReason, type Timer } from "./state.ts";
import {
  buildCandidates,
  buildHangup,
  buildInvite,
  CallEventType,
  OUR_VERSION,
  usableCandidates,
  type AnswerIn,
  type CallBase,
  type CandidatesIn,
  type CandidateWire,
  type HangupIn,
  type HangupReason,
  type RejectIn,
} from "./wire.ts";

export type SendCallEvent = (type: string, content: Record<string, unknown>) => Promise<void>;

export type { CallDirection, CallEnd, SessionEvents } from "./session-base.ts";

export interface CallSessionOptions {
  callId: string;
  partyId: string;
  roomId: string;
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

/** The spec's party rule (as matrix-js-sdk): a version-0 event has no party, whatever it carries. */
export function partyOf(content: { version: string | number; party_id?: string | undefined }): string | null {
  return content.version === 0 ? null : (content.party_id ?? null);
}

/**
 * One outgoing call: drives a peer connection and the signalling from the pure state machine
 * (`transition`) and carries out its actions. Every ending goes through `terminate()`.
 */
export class CallSession extends SessionBase {
  readonly direction = "outgoing";
  private ctx: CallContext = initialContext();
  private readonly timers = new Map<Timer, NodeJS.Timeout>();
  /** Remote candidates per party, held until an answer is chosen (then only that party's are used). */
  private readonly pending = new Map<string | null, CandidateWire[]>();
  private answer: { sdp: string; partyId: string | null } | undefined;
  private partyCapLogged = false;

  constructor(
    readonly opts: CallSessionOptions,
    lease: CameraLease,
    private readonly send: SendCallEvent,
    private readonly log: Logger,
  ) {
    super(opts, lease, log);
  }

  get peer(): string {
    return this.opts.invitee;
  }
  get state(): CallState {
    return this.ctx.state;
  }

  private base(): CallBase {
    return { call_id: this.opts.callId, version: OUR_VERSION, party_id: this.opts.partyId };
  }

  /** Creates the offer and sends the invite. Resolves once the invite is out (or the call ended). */
  async start(): Promise<void> {
    try {
      const link = new PeerLink(
        this.opts.iceServers,
        {},
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
      this.feed.attach(link.pc);
      const offer = await link.pc.createOffer();
      await link.pc.setLocalDescription(offer);
      await link.gatherBriefly(this.opts.gatherIntoOfferMs ?? 200);
      if (this.ctx.state !== CallState.Preparing) return;
      const sdp = link.takeLocalSdp();
      // From here the invite is on its way: an ending now must send a hangup (queued after the invite).
      this.dispatch({ kind: "invite_sent" });
      const sending = this.send(CallEventType.Invite, { ...buildInvite(this.base(), sdp, this.opts.lifetimeMs, this.opts.invitee) });
      if (this.state === CallState.Ringing) link.startTrickle();
      await sending;
    } catch (err: unknown) {
      this.log.error({ err: errorMessage(err) }, "could not place the call");
      this.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }

  onAnswer(content: AnswerIn): void {
    const partyId = partyOf(content);
    // Only the first answer while ringing is taken; the state machine decides, this records its SDP.
    if (this.ctx.state === CallState.Ringing) this.answer = { sdp: content.answer.sdp, partyId };
    this.dispatch({ kind: "answer", partyId });
  }

  onCandidates(content: CandidatesIn): void {
    if (this.ctx.state === CallState.Ended) return;
    const partyId = partyOf(content);
    const chosen = this.ctx.chosenPartyId;
    if (chosen !== undefined && partyId !== chosen) {
      this.log.debug({ partyId }, "ignoring candidates from a party whose answer was not chosen");
      return;
    }
    const usable = usableCandidates(content);
    if (chosen !== undefined) {
      this.link?.addRemoteCandidates(usable);
      return;
    }
    let held = this.pending.get(partyId);
    if (held === undefined) {
      if (this.pending.size >= MAX_PENDING_PARTIES) {
        if (!this.partyCapLogged) this.log.warn({ max: MAX_PENDING_PARTIES }, "candidates from more parties than a ringing call holds; the new parties' are dropped");
        this.partyCapLogged = true;
        return;
      }
      held = [];
      this.pending.set(partyId, held);
    }
    held.push(...usable.slice(0, Math.max(0, MAX_HELD_PER_PARTY - held.length)));
  }

  onHangup(content: HangupIn): void {
    this.dispatch({ kind: "remote_hangup", partyId: partyOf(content), reason: content.reason });
  }

  onReject(content: RejectIn): void {
    this.dispatch({ kind: "remote_reject", partyId: partyOf(content) });
  }

  /** The invitee left the room. */
  remoteLeft(): void {
    this.dispatch({ kind: "remote_left" });
  }

  hangup(reason: HangupReason = "user_hangup"): void {
    this.dispatch({ kind: "local_hangup", reason });
  }

  /** Aborted by glare: the other side's call to this room won; ours is hung up (if its invite went out). */
  replaced(): void {
    this.dispatch({ kind: "replaced" });
  }

  private dispatch(input: CallInput): void {
    const before = this.ctx.state;
    const { next, actions, ignored } = transition(this.ctx, input);
    this.ctx = next;
    if (ignored !== undefined) this.log.debug({ input: input.kind, why: ignored }, "call input ignored");
    if (next.state !== before) {
      this.log.info({ from: before, to: next.state }, "call state");
      this.emit("state", next.state);
    }
    for (const action of actions) this.run(action);
  }

  private run(action: CallAction): void {
    switch (action.kind) {
      case "accept_answer":
        void this.acceptAnswer();
        return;
      case "send_hangup":
        this.sendEvent(CallEventType.Hangup, { ...buildHangup(this.base(), action.reason) });
        return;
      case "start_timer": {
        const existing = this.timers.get(action.timer);
        if (existing !== undefined) return;
        const ms = action.timer === "invite" ? this.opts.lifetimeMs : this.opts.iceDisconnectedTimeoutMs;
        const timer = setTimeout(() => {
          this.timers.delete(action.timer);
          this.dispatch({ kind: "timer", timer: action.timer });
        }, ms);
        this.timers.set(action.timer, timer);
        return;
      }
      case "clear_timer": {
        const timer = this.timers.get(action.timer);
        if (timer !== undefined) clearTimeout(timer);
        this.timers.delete(action.timer);
        return;
      }
      case "terminate":
        this.terminate(action.party, action.reason);
        return;
    }
  }

  private async acceptAnswer(): Promise<void> {
    const link = this.link;
    const answer = this.answer;
    if (!link || !answer || this.ctx.state === CallState.Ended) return;
    try {
      await link.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      link.remoteDescriptionSet();
      const held = this.pending.get(answer.partyId) ?? [];
      link.addRemoteCandidates(held);
      this.pending.clear();
      this.log.info({ partyId: answer.partyId, heldCandidates: held.length }, "answer accepted");
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, "the answer's SDP was refused");
      this.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }

  private sendEvent(type: string, content: Record<string, unknown>): void {
    this.send(type, content).catch((err: unknown) => {
      this.log.warn({ type, err: errorMessage(err) }, "could not send a call event");
    });
  }

  /** The one way a call ends: stop trickling, close the peer connection, release the camera. */
  private terminate(party: "local" | "remote", reason: EndReason): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    this.link?.close();
    this.link = undefined;
    this.feed.release();
    this.log.info({ party, reason }, "call ended");
    this.emit("ended", { callId: this.opts.callId, roomId: this.opts.roomId, direction: this.direction, party, reason, connected: this.ctx.hadMedia });
  }
}
