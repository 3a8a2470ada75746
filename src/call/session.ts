import { EventEmitter } from "node:events";
import type { CameraLease } from "../media/camera-hub.ts";
import { CandidateBatcher } from "../rtc/candidate-batcher.ts";
import { createPeerConnection, MediaStream } from "../rtc/wrtc.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CallState, initialContext, transition, type CallAction, type CallContext, type CallInput, type EndReason, type Timer } from "./state.ts";
import {
  buildCandidates,
  buildHangup,
  buildInvite,
  CallEventType,
  OUR_VERSION,
  type AnswerIn,
  type CandidatesIn,
  type CandidateWire,
  type HangupIn,
  type HangupReason,
  type RejectIn,
} from "./wire.ts";

export type SendCallEvent = (type: string, content: Record<string, unknown>) => Promise<void>;

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

export interface CallEnd {
  callId: string;
  roomId: string;
  party: "local" | "remote";
  reason: EndReason;
  /** Whether ICE ever connected (media flowed). */
  connected: boolean;
}

interface SessionEvents {
  state: [state: CallState];
  ended: [end: CallEnd];
}

const MAX_BUFFERED_CANDIDATES = 200;

/** The spec's party rule (as matrix-js-sdk): a version-0 event has no party, whatever it carries. */
export function partyOf(content: { version: string | number; party_id?: string | undefined }): string | null {
  return content.version === 0 ? null : (content.party_id ?? null);
}

/**
 * One outgoing call: drives a peer connection and the signalling from the pure state machine
 * (`transition`) and carries out its actions. Every ending goes through `terminate()`.
 */
export class CallSession extends EventEmitter<SessionEvents> {
  private ctx: CallContext = initialContext();
  private pc: RTCPeerConnection | undefined;
  private readonly batcher: CandidateBatcher;
  private readonly timers = new Map<Timer, NodeJS.Timeout>();
  /** Remote candidates per party, held until that party's answer is set as the remote description. */
  private readonly pending = new Map<string | null, CandidateWire[]>();
  private answer: { sdp: string; partyId: string | null } | undefined;
  private remoteDescriptionSet = false;

  constructor(
    readonly opts: CallSessionOptions,
    private readonly lease: CameraLease,
    private readonly send: SendCallEvent,
    private readonly log: Logger,
  ) {
    super();
    this.batcher = new CandidateBatcher((candidates) => {
      this.sendEvent(CallEventType.Candidates, { ...buildCandidates(this.base(), candidates) });
    });
  }

  get callId(): string {
    return this.opts.callId;
  }
  get state(): CallState {
    return this.ctx.state;
  }
  get camera(): string {
    return this.lease.camera;
  }

  private base(): { call_id: string; version: typeof OUR_VERSION; party_id: string } {
    return { call_id: this.opts.callId, version: OUR_VERSION, party_id: this.opts.partyId };
  }

  /** Creates the offer and sends the invite. Resolves once the invite is out (or the call ended). */
  async start(): Promise<void> {
    try {
      const pc = createPeerConnection({ iceServers: this.opts.iceServers, bundlePolicy: "max-bundle" });
      this.pc = pc;
      const stream = new MediaStream();
      pc.addTrack(this.lease.video, stream);
      pc.addTrack(this.lease.audio, stream);
      pc.onicecandidate = (ev) => {
        if (ev.candidate && ev.candidate.candidate !== "") {
          const c: CandidateWire = { candidate: ev.candidate.candidate };
          if (ev.candidate.sdpMid !== null) c.sdpMid = ev.candidate.sdpMid;
          if (ev.candidate.sdpMLineIndex !== null) c.sdpMLineIndex = ev.candidate.sdpMLineIndex;
          this.batcher.add(c);
        } else {
          this.batcher.complete();
        }
      };
      pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === "complete") this.batcher.complete();
      };
      pc.oniceconnectionstatechange = () => {
        this.dispatch({ kind: "ice", state: pc.iceConnectionState });
      };
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await this.gatherBriefly(pc, this.opts.gatherIntoOfferMs ?? 200);
      if (this.ctx.state !== CallState.Preparing) return;
      const sdp = pc.localDescription?.sdp;
      if (sdp === undefined) throw new Error("no local description after setLocalDescription");
      this.batcher.snapshotTaken();
      await this.send(CallEventType.Invite, { ...buildInvite(this.base(), sdp, this.opts.lifetimeMs, this.opts.invitee) });
      this.dispatch({ kind: "invite_sent" });
      if (this.state === CallState.Ringing) this.batcher.start();
    } catch (err: unknown) {
      this.log.error({ err: errorMessage(err) }, "could not place the call");
      this.dispatch({ kind: "failure", reason: "unknown_error" });
    }
  }

  private gatherBriefly(pc: RTCPeerConnection, ms: number): Promise<void> {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", onChange);
        resolve();
      };
      const onChange = (): void => {
        if (pc.iceGatheringState === "complete") done();
      };
      const timer = setTimeout(done, ms);
      pc.addEventListener("icegatheringstatechange", onChange);
    });
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
    const usable: CandidateWire[] = [];
    for (const c of content.candidates) {
      // End-of-candidates ("") and entries without an m-line reference are not for addIceCandidate.
      if (c.candidate === "" || (c.sdpMid == null && c.sdpMLineIndex == null)) continue;
      const w: CandidateWire = { candidate: c.candidate };
      if (c.sdpMid != null) w.sdpMid = c.sdpMid;
      if (c.sdpMLineIndex != null) w.sdpMLineIndex = c.sdpMLineIndex;
      usable.push(w);
    }
    if (this.remoteDescriptionSet) {
      this.addCandidates(usable);
      return;
    }
    const held = this.pending.get(partyId) ?? [];
    held.push(...usable.slice(0, Math.max(0, MAX_BUFFERED_CANDIDATES - held.length)));
    this.pending.set(partyId, held);
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

  private addCandidates(candidates: CandidateWire[]): void {
    const pc = this.pc;
    if (!pc) return;
    for (const c of candidates) {
      pc.addIceCandidate(c).catch((err: unknown) => {
        this.log.debug({ err: errorMessage(err) }, "remote candidate not usable");
      });
    }
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
    const pc = this.pc;
    const answer = this.answer;
    if (!pc || !answer || this.ctx.state === CallState.Ended) return;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      this.remoteDescriptionSet = true;
      const held = this.pending.get(answer.partyId) ?? [];
      this.pending.clear();
      this.addCandidates(held);
      this.log.info({ partyId: answer.partyId }, "answer accepted");
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
    this.batcher.stop();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
    const pc = this.pc;
    this.pc = undefined;
    if (pc) {
      pc.onicecandidate = null;
      pc.oniceconnectionstatechange = null;
      pc.onicegatheringstatechange = null;
      pc.close();
    }
    this.lease.release();
    this.log.info({ party, reason }, "call ended");
    this.emit("ended", { callId: this.opts.callId, roomId: this.opts.roomId, party, reason, connected: this.ctx.hadMedia });
  }
}
