import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { CameraHub } from "../media/camera-hub.ts";
import type { TurnCredentials } from "../rtc/turn.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CallSession, type CallEnd } from "./session.ts";
import { CallState } from "./state.ts";
import { answerSchema, buildReject, CallEventType, candidatesSchema, hangupSchema, inviteSchema, isCallEventType, rejectSchema, type HangupReason } from "./wire.ts";

export type SendEvent = (roomId: string, type: string, content: Record<string, unknown>) => Promise<void>;

export interface CallManagerOptions {
  inviteLifetimeMs: number;
  iceDisconnectedTimeoutMs: number;
}

interface ManagerEvents {
  ended: [end: CallEnd & { camera: string }];
}

/** Opaque-identifier grammar: [0-9A-Za-z._~-], here base64url without padding. */
function opaqueId(bytes: number): string {
  return randomBytes(bytes).toString("base64url").replace(/[^0-9A-Za-z._~-]/g, "");
}

export class RoomBusyError extends Error {}

/** Owns the calls in progress: places them, routes inbound call events to them, ends them. */
export class CallManager extends EventEmitter<ManagerEvents> {
  private readonly byCallId = new Map<string, CallSession>();
  private readonly byRoom = new Map<string, CallSession>();
  private readonly inviteeOf = new Map<string, string>();
  /** A stable party ID of this bot for every event of every call. */
  readonly partyId = opaqueId(12);
  /** Call events on their way to the homeserver (a shutdown waits for its hangups). */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly send: SendEvent;

  constructor(
    private readonly hub: CameraHub,
    private readonly turn: TurnCredentials,
    send: SendEvent,
    private readonly opts: CallManagerOptions,
    private readonly log: Logger,
  ) {
    super();
    this.send = (roomId, type, content) => {
      const sending = send(roomId, type, content);
      const tracked = sending.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
      this.inFlight.add(tracked);
      return sending;
    };
  }

  activeCount(): number {
    return this.byCallId.size;
  }

  callInRoom(roomId: string): CallSession | undefined {
    return this.byRoom.get(roomId);
  }

  /** Rings `invitee` in `roomId` with `camera`. The room must already be checked (see checkCallRoom). */
  async placeCall(roomId: string, invitee: string, camera: string): Promise<CallSession> {
    if (this.byRoom.has(roomId)) throw new RoomBusyError("a call is already in progress in this room");
    const callId = `${Date.now()}${opaqueId(12)}`;
    const log = this.log.child({ call: callId, room: roomId, camera });
    const lease = this.hub.acquire(camera);
    let session: CallSession;
    try {
      const iceServers = await this.turn.iceServers();
      session = new CallSession(
        { callId, partyId: this.partyId, roomId, invitee, lifetimeMs: this.opts.inviteLifetimeMs, iceDisconnectedTimeoutMs: this.opts.iceDisconnectedTimeoutMs, iceServers },
        lease,
        (type, content) => this.send(roomId, type, content),
        log,
      );
    } catch (err: unknown) {
      lease.release();
      throw err;
    }
    this.byCallId.set(callId, session);
    this.byRoom.set(roomId, session);
    this.inviteeOf.set(callId, invitee);
    session.once("ended", (end) => {
      this.byCallId.delete(callId);
      if (this.byRoom.get(roomId) === session) this.byRoom.delete(roomId);
      this.inviteeOf.delete(callId);
      this.emit("ended", { ...end, camera });
    });
    log.info({ invitee }, "placing a call");
    await session.start();
    return session;
  }

  /** Ends the call in a room; false when there is none. */
  hangupRoom(roomId: string, reason: HangupReason = "user_hangup"): boolean {
    const session = this.byRoom.get(roomId);
    if (!session) return false;
    session.hangup(reason);
    return true;
  }

  /** A member left a room: if it was the callee (or the bot), the call is over. */
  memberLeft(roomId: string, userId: string, botUserId: string): void {
    const session = this.byRoom.get(roomId);
    if (!session) return;
    if (userId === botUserId || this.inviteeOf.get(session.callId) === userId) session.remoteLeft();
  }

  /**
   * An m.call.* event arrived in a room. Contents are parsed by schema; anything malformed,
   * from someone other than the callee, or for an unknown call is logged and dropped.
   */
  handleEvent(roomId: string, sender: string, type: string, content: unknown, botUserId: string, senderAllowed: boolean): void {
    if (!isCallEventType(type) || sender === botUserId) return;
    if (type === CallEventType.Invite) {
      this.onInboundInvite(roomId, sender, content, senderAllowed);
      return;
    }
    const parsedId = hangupSchema.pick({ call_id: true }).safeParse(content);
    if (!parsedId.success) {
      this.log.debug({ room: roomId, type }, "call event without a call_id ignored");
      return;
    }
    const session = this.byCallId.get(parsedId.data.call_id);
    if (!session) return;
    if (this.inviteeOf.get(session.callId) !== sender) {
      this.log.warn({ call: session.callId, room: roomId, type, sender }, "call event from someone other than the callee ignored");
      return;
    }
    const bad = (): void => {
      this.log.warn({ call: session.callId, room: roomId, type }, "malformed call event ignored");
    };
    switch (type) {
      case CallEventType.Answer: {
        const p = answerSchema.safeParse(content);
        if (p.success) session.onAnswer(p.data);
        else bad();
        return;
      }
      case CallEventType.Candidates: {
        const p = candidatesSchema.safeParse(content);
        if (p.success) session.onCandidates(p.data);
        else bad();
        return;
      }
      case CallEventType.Hangup: {
        const p = hangupSchema.safeParse(content);
        if (p.success) session.onHangup(p.data);
        else bad();
        return;
      }
      case CallEventType.Reject: {
        const p = rejectSchema.safeParse(content);
        if (p.success) session.onReject(p.data);
        else bad();
        return;
      }
      default:
        // select_answer, negotiate (v1 only; our calls are v0), metadata and identity events.
        this.log.debug({ call: session.callId, type }, "call event not used by version-0 calls");
    }
  }

  /** Someone calls the bot. Not answered yet: allowed users get an m.call.reject so Element stops ringing. */
  private onInboundInvite(roomId: string, sender: string, content: unknown, senderAllowed: boolean): void {
    const p = inviteSchema.safeParse(content);
    if (!p.success) {
      this.log.warn({ room: roomId }, "malformed m.call.invite ignored");
      return;
    }
    if (!senderAllowed) {
      this.log.warn({ room: roomId, sender }, "call from a user who is not allowed: ignored");
      return;
    }
    this.log.info({ room: roomId, call: p.data.call_id }, "declining a call placed to the bot (use !call <camera>)");
    this.send(roomId, CallEventType.Reject, { ...buildReject(p.data.call_id, this.partyId) }).catch((err: unknown) => {
      this.log.warn({ err: errorMessage(err) }, "could not decline the call");
    });
  }

  /**
   * Hangs up every call (shutdown) and resolves when all have ended and their hangups were sent,
   * or `sendTimeoutMs` passed.
   */
  async hangupAll(reason: HangupReason = "user_hangup", sendTimeoutMs = 3000): Promise<void> {
    const sessions = [...this.byCallId.values()];
    await Promise.all(
      sessions.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.state === CallState.Ended) {
              resolve();
              return;
            }
            s.once("ended", () => {
              resolve();
            });
            s.hangup(reason);
          }),
      ),
    );
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.inFlight]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, sendTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
