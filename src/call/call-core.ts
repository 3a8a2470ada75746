/**
 * One call, whatever its direction: the core owns the call's lifecycle (an explicit state from the
 * direction's pure machine, one dispatch, one terminate() path), the peer connection (PeerLink), the
 * camera it shows (CameraFeed, `switchCamera`), its timers and its figures. What differs between an
 * outgoing call (OutgoingSignalling) and a call placed to the bot (IncomingSignalling) — which
 * events go out and how the offer/answer is made — lives in a small Signalling object the core is
 * built with; a MatrixRTC call can plug its own in the same way.
 */
import { EventEmitter } from "node:events";
import type { CameraLease } from "../media/camera-hub.ts";
import type { CandidateBatcherOptions } from "../rtc/candidate-batcher.ts";
import { PeerLink } from "../rtc/peer-link.ts";
import type { VideoSendStats } from "../rtc/video-send-stats.ts";
import { CallListener } from "../talkback/listener.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { CallEvents, CallPort, CallWhere, SendCallEvent, Signalling } from "./call-types.ts";
import { CameraFeed } from "./camera-feed.ts";
import { CallState, isCoreAction, type CoreAction, type CoreInput, type EndReason, type MachineContext, type Timer } from "./state.ts";
import { buildCandidates, buildHangup, CallEventType, type CallBase, type HangupReason } from "./wire.ts";

export type { CallDirection, CallEnd, CallEvents, CallPort, CallWhere, SendCallEvent, Signalling } from "./call-types.ts";

export class CallCore<C extends MachineContext, I extends { kind: string }, Own extends { kind: string }, S extends Signalling<C, I, Own>>
  extends EventEmitter<CallEvents>
  implements CallPort<C, I>
{
  readonly signalling: S;
  private ctx: C;
  private peerLink: PeerLink | undefined;
  private readonly feed: CameraFeed;
  private readonly timers = new Map<Timer, NodeJS.Timeout>();

  constructor(
    private readonly where: CallWhere,
    lease: CameraLease,
    readonly send: SendCallEvent,
    private readonly log: Logger,
    signalling: (port: CallPort<C, I>) => S,
  ) {
    super();
    this.feed = new CameraFeed(lease, log);
    this.signalling = signalling(this);
    this.ctx = this.signalling.initialContext();
  }

  get callId(): string {
    return this.where.callId;
  }
  get roomId(): string {
    return this.where.roomId;
  }
  get direction(): S["direction"] {
    return this.signalling.direction;
  }
  get peer(): string {
    return this.where.peer;
  }
  get state(): CallState {
    return this.ctx.state;
  }
  get context(): C {
    return this.ctx;
  }
  /** Named `link` on purpose: bench/run.ts reads `link.pc` of a call for its figures. */
  get link(): PeerLink | undefined {
    return this.peerLink;
  }
  /** The camera the call shows now (it changes with switchCamera). */
  get camera(): string {
    return this.feed.camera;
  }

  base(): CallBase {
    return { call_id: this.where.callId, version: this.signalling.version, party_id: this.where.partyId };
  }

  /** Sends the offer or the answer. Resolves once it is out (or the call ended). */
  start(): Promise<void> {
    return this.signalling.start();
  }

  hangup(reason: HangupReason = "user_hangup"): void {
    this.dispatch({ kind: "local_hangup", reason });
  }

  /** The other party left the room. */
  remoteLeft(): void {
    this.dispatch({ kind: "remote_left" });
  }

  /** Shows another camera on this call without renegotiation (the old lease is released). */
  switchCamera(lease: CameraLease): Promise<void> {
    if (this.state === CallState.Ended) {
      lease.release();
      return Promise.reject(new Error("the call has ended"));
    }
    return this.feed.switchTo(lease).then(() => {
      this.emit("camera", this.camera);
    });
  }

  /** The other party's audio as received (talkback); undefined before the peer connection exists or once it is closed. */
  listenToCallee(onAudio: (samples: Int16Array, channels: number) => void, log: Logger): CallListener | undefined {
    const track = this.peerLink?.pc.getReceivers().find((r) => r.track.kind === "audio")?.track;
    return track === undefined ? undefined : new CallListener(track, onAudio, log);
  }

  /** The video sender's figures so far (undefined before the peer connection exists or once it is closed). */
  videoStats(): Promise<VideoSendStats | undefined> {
    return this.peerLink?.videoStats() ?? Promise.resolve(undefined);
  }

  openLink(iceServers: RTCIceServer[], trickle: CandidateBatcherOptions): PeerLink {
    const link = new PeerLink(
      iceServers,
      trickle,
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
    this.peerLink = link;
    return link;
  }

  attachCamera(pc: RTCPeerConnection, kinds?: ReadonlySet<string>): void {
    this.feed.attach(pc, kinds);
  }

  sendEvent(type: string, content: Record<string, unknown>): void {
    this.send(type, content).catch((err: unknown) => {
      this.log.warn({ type, err: errorMessage(err) }, "could not send a call event");
    });
  }

  dispatch(input: I | CoreInput): void {
    const before = this.ctx.state;
    const { next, actions, ignored } = this.signalling.transition(this.ctx, input);
    this.ctx = next;
    if (ignored !== undefined) this.log.debug({ input: input.kind, why: ignored }, "call input ignored");
    if (next.state !== before) {
      this.log.info({ from: before, to: next.state }, "call state");
      this.emit("state", next.state);
    }
    for (const action of actions) {
      if (isCoreAction(action)) this.run(action);
      else this.signalling.run(action);
    }
  }

  private run(action: CoreAction): void {
    switch (action.kind) {
      case "send_hangup":
        this.sendEvent(CallEventType.Hangup, { ...buildHangup(this.base(), action.reason) });
        return;
      case "start_timer": {
        if (this.timers.has(action.timer)) return;
        const timer = setTimeout(() => {
          this.timers.delete(action.timer);
          this.dispatch({ kind: "timer", timer: action.timer });
        }, this.signalling.timerMs(action.timer));
        this.timers.set(action.timer, timer);
        return;
      }
      case "clear_timer":
        clearTimeout(this.timers.get(action.timer));
        this.timers.delete(action.timer);
        return;
      case "terminate":
        this.terminate(action.party, action.reason);
        return;
    }
  }

  /** The one way a call ends: stop the timers and trickling, close the peer connection, release the camera. */
  private terminate(party: "local" | "remote", reason: EndReason): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.signalling.ended();
    this.peerLink?.close();
    this.peerLink = undefined;
    this.feed.release();
    this.log.info({ party, reason }, "call ended");
    this.emit("ended", {
      callId: this.where.callId,
      roomId: this.where.roomId,
      direction: this.direction,
      party,
      reason,
      connected: this.ctx.hadMedia,
    });
  }
}

/** Hangs a call up (unless it has ended) and resolves once it has ended: shutdown waits for every call this way. */
export function hangUpAndWait(
  call: { readonly state: CallState; once(event: "ended", listener: () => void): unknown; hangup(reason: HangupReason): void },
  reason: HangupReason,
): Promise<void> {
  if (call.state === CallState.Ended) return Promise.resolve();
  return new Promise<void>((resolve) => {
    call.once("ended", () => {
      resolve();
    });
    call.hangup(reason);
  });
}
