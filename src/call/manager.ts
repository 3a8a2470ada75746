import { EventEmitter } from "node:events";
import { LogOnce } from "../doorbell/log-once.ts";
import type { CameraHub } from "../media/camera-hub.ts";
import type { TurnCredentials } from "../rtc/turn.ts";
import type { Logger } from "../util/logger.ts";
import { busyRefusal, CallRefusedError, capacityRefusal, type CallRegistry } from "../admission/refusal.ts";
import { hangUpAndWait, type CallEnd } from "./call-core.ts";
import { CallOutbox, type SendEvent } from "./call-outbox.ts";
import { answerCall } from "./answer-call.ts";
import { InviteAdmission, type EventContext } from "./invite-admission.ts";
import { takeCallEvent, type IntakeContext } from "./event-intake.ts";
import type { ActiveCall, RoomCallEvent } from "./router.ts";
import { createOutgoingCall, type OutgoingCall } from "./outgoing-signalling.ts";
import { watchSetup } from "./setup-timing.ts";
import { CallState } from "./state.ts";
import { opaqueId, type HangupReason, type InviteIn } from "./wire.ts";

export type { ActiveCall, RoomCallEvent } from "./router.ts";
export type { EventContext } from "./invite-admission.ts";

export type { SendEvent } from "./call-outbox.ts";

export interface CallManagerOptions {
  inviteLifetimeMs: number;
  iceDisconnectedTimeoutMs: number;
  /** The camera a call placed to the bot shows; default the first camera. */
  defaultCamera?: string | undefined;
  /** Calls in progress at most (both directions); more are refused (admission's "capacity"). Default: no limit. */
  maxConcurrent?: number | undefined;
}

interface ManagerEvents {
  ended: [end: CallEnd & { camera: string }];
  /** A set-up phase finished: "answer" (call started → answered), "connect" (answered → media connected). */
  setup: [phase: "answer" | "connect", seconds: number];
  /** A call was registered (either direction), for parts that follow calls (talkback). */
  call: [session: ActiveCall];
}

/**
 * Ended calls whose IDs are remembered. Found by the fuzz test (seed 1187341383): the callee rejected the bot's
 * call and then sent an invite with that call's ID; the bot answered it as a new call.
 */
const ENDED_IDS_KEPT = 1000;

/** Owns the calls in progress: places them, answers calls placed to the bot, routes call events, ends them. */
export class CallManager extends EventEmitter<ManagerEvents> implements CallRegistry {
  private readonly byCallId = new Map<string, ActiveCall>();
  /** The IDs of the last ENDED_IDS_KEPT calls that ended: an invite carrying one is a replay (call IDs are unique). */
  private readonly endedIds = new Set<string>();
  private readonly byRoom = new Map<string, ActiveCall>();
  private readonly admission: InviteAdmission;
  /** A stable party ID of this bot for every event of every call. */
  readonly partyId = opaqueId(12);
  /** Sends the call events, each call's in order, and lets a shutdown wait for them. */
  private readonly outbox: CallOutbox;
  /** Calls being placed (TURN credentials on their way) that are not registered yet. */
  private placing = 0;
  /** Where m.call.* events from rooms go (event-intake.ts). */
  private readonly intake: IntakeContext;

  constructor(
    private readonly hub: CameraHub,
    private readonly turn: TurnCredentials,
    rawSend: SendEvent,
    private readonly opts: CallManagerOptions,
    private readonly log: Logger,
  ) {
    super();
    this.outbox = new CallOutbox(rawSend);
    this.admission = new InviteAdmission(
      {
        partyId: this.partyId,
        callInRoom: (roomId) => this.byRoom.get(roomId),
        hasCall: (callId) => this.byCallId.has(callId) || this.endedIds.has(callId),
        abandon: (callId) => {
          const session = this.byCallId.get(callId);
          if (session?.direction === "outgoing") session.signalling.replaced();
        },
        answer: (event, invite, iceServers, log) => {
          this.answer(event, invite, iceServers, log);
        },
        send: this.outbox.send,
        replay: (event, ctx) => {
          this.handleEvent(event, ctx);
        },
      },
      turn,
      log,
    );
    this.intake = { admission: this.admission, callById: (callId) => this.byCallId.get(callId), log, logOnce: new LogOnce(log) };
  }

  activeCount(): number {
    return this.byCallId.size;
  }

  /** The calls in progress. */
  sessions(): ActiveCall[] {
    return [...this.byCallId.values()];
  }

  /** Whether one more call would go over `maxConcurrent`. */
  atCapacity(): boolean {
    return this.byCallId.size + this.placing >= (this.opts.maxConcurrent ?? Infinity);
  }

  get maxConcurrent(): number | undefined {
    return this.opts.maxConcurrent;
  }

  /**
   * Admission's rules about calls in progress, asked again where a call is set up: admission asked them before,
   * but another call may have started during an await (TURN credentials). Throws CallRefusedError.
   */
  private recheck(roomId: string | undefined): void {
    const refusal = (roomId !== undefined ? busyRefusal(this, roomId) : undefined) ?? capacityRefusal(this);
    if (refusal !== undefined) throw new CallRefusedError(refusal);
  }

  callInRoom(roomId: string): ActiveCall | undefined {
    return this.byRoom.get(roomId);
  }

  /** A call in the room, or a call event (an ended call's hangup) still on its way there. */
  busyIn(roomId: string): boolean {
    return this.byRoom.has(roomId) || this.outbox.sendingTo(roomId);
  }

  /** The camera a call placed to the bot shows. */
  defaultCamera(): string | undefined {
    return this.opts.defaultCamera ?? this.hub.names()[0];
  }

  private register(session: ActiveCall): void {
    const { callId, roomId } = session;
    this.byCallId.set(callId, session);
    this.byRoom.set(roomId, session);
    watchSetup(session, (phase, seconds) => this.emit("setup", phase, seconds));
    session.once("ended", (end) => {
      this.byCallId.delete(callId);
      this.endedIds.add(callId);
      for (const old of this.endedIds) {
        if (this.endedIds.size <= ENDED_IDS_KEPT) break;
        this.endedIds.delete(old);
      }
      if (this.byRoom.get(roomId) === session) this.byRoom.delete(roomId);
      this.emit("ended", { ...end, camera: session.camera });
    });
    this.emit("call", session);
  }

  /** Rings `invitee` in `roomId` with `camera`. The call must already be admitted (admission/admission.ts). */
  async placeCall(roomId: string, invitee: string, camera: string): Promise<OutgoingCall> {
    this.recheck(roomId);
    const callId = `${Date.now()}${opaqueId(12)}`;
    const log = this.log.child({ call: callId, room: roomId, camera });
    // A cold camera starts once the invite is on its way: spawning its front end forks the bot, which blocks it for
    // 7–20 ms (more the larger its RSS), a third of the bot's own part of `!call` → invite sent. The answer comes
    // a ring later. See docs/benchmark.md, "A cold camera started after the invite".
    const lease = this.hub.acquire(camera, { start: false });
    let session: OutgoingCall;
    this.placing++;
    try {
      const iceServers = await this.turn.iceServers().finally(() => {
        this.placing--;
      });
      this.recheck(roomId);
      session = createOutgoingCall(
        {
          callId,
          partyId: this.partyId,
          roomId,
          invitee,
          lifetimeMs: this.opts.inviteLifetimeMs,
          iceDisconnectedTimeoutMs: this.opts.iceDisconnectedTimeoutMs,
          iceServers,
        },
        lease,
        this.outbox.sender(roomId),
        log,
      );
    } catch (err: unknown) {
      lease.release();
      throw err;
    }
    this.register(session);
    session.once("state", (state) => {
      // "ringing" is entered as the invite's send begins: the next turn of the event loop has it written.
      if (state === CallState.Ringing)
        setImmediate(() => {
          this.hub.startLeased(camera);
        });
    });
    log.info({ invitee }, "placing a call");
    await session.start();
    return session;
  }

  /**
   * Ends the call in a room at the request of `by`: "not_yours" unless `by` is the call's other party (a third
   * member of the room, allowed or not, may not end someone else's call), "no_call" when there is none.
   */
  hangupRoom(roomId: string, by: string, reason: HangupReason = "user_hangup"): "ended" | "no_call" | "not_yours" {
    const session = this.byRoom.get(roomId);
    if (!session) return "no_call";
    if (session.peer !== by) return "not_yours";
    session.hangup(reason);
    return "ended";
  }

  /**
   * Shows `camera` on the call in `roomId` without renegotiation, at the request of `by`. "no_call" when the room
   * has none, "not_yours" when `by` is not the call's other party, "unknown_camera" for a camera that is not configured.
   */
  async switchCamera(
    roomId: string,
    camera: string,
    by: string,
  ): Promise<"switched" | "no_call" | "not_yours" | "unknown_camera" | "same_camera"> {
    const session = this.byRoom.get(roomId);
    if (!session || session.state === CallState.Ended) return "no_call";
    if (session.peer !== by) return "not_yours";
    if (!this.hub.has(camera)) return "unknown_camera";
    if (session.camera === camera) return "same_camera";
    await session.switchCamera(this.hub.acquire(camera));
    return "switched";
  }

  /** A member left a room: if it was the other party (or the bot), the call is over. */
  memberLeft(roomId: string, userId: string, botUserId: string): void {
    const session = this.byRoom.get(roomId);
    if (!session) return;
    if (userId === botUserId || session.peer === userId) session.remoteLeft();
  }

  /**
   * An m.call.* event arrived in a room. Contents are parsed by schema; anything malformed, from
   * someone other than the call's other party, from another room than the call's, or for an unknown
   * call is logged and dropped.
   */
  handleEvent(event: RoomCallEvent, ctx: EventContext): void {
    takeCallEvent(this.intake, event, ctx);
  }

  private answer(event: RoomCallEvent, invite: InviteIn, iceServers: RTCIceServer[], log: Logger): void {
    const camera = this.defaultCamera();
    if (camera === undefined) throw new Error("no camera is configured");
    // Not the busy rule: a call placed to the bot that meets the bot's own is the glare rule's (it may replace ours).
    this.recheck(undefined);
    const answering = {
      partyId: this.partyId,
      iceDisconnectedTimeoutMs: this.opts.iceDisconnectedTimeoutMs,
      hub: this.hub,
      send: this.outbox.sender(event.roomId),
    };
    const session = answerCall(answering, camera, event, invite, iceServers, log.child({ camera }));
    this.register(session);
    log.info({ caller: event.sender, camera }, "answering a call placed to the bot");
    void session.start();
  }

  /**
   * Hangs up every call (shutdown) and resolves when all have ended and their hangups were sent,
   * or `sendTimeoutMs` passed.
   */
  async hangupAll(reason: HangupReason = "user_hangup", sendTimeoutMs = 3000): Promise<void> {
    await Promise.all([...this.byCallId.values()].map((s) => hangUpAndWait(s, reason)));
    await this.outbox.drain(sendTimeoutMs);
  }
}
