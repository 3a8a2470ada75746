/**
 * Calls placed to the bot, from their m.call.invite to the decision: parsed, from an allowed user,
 * addressed to the bot, younger than their lifetime, in a room that passes the check, then the
 * glare rule (glare.ts) against the bot's own call in that room. The caller's other events that
 * arrive meanwhile are held and replayed once the call is answered.
 */
import { LogOnce } from "../doorbell/log-once.ts";
import type { TurnCredentials } from "../rtc/turn.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CallRefusedError, type Refusal } from "../admission/refusal.ts";
import { decideInvite, type RoomCall } from "./glare.ts";
import type { RoomCallEvent } from "./router.ts";
import { buildHangup, buildReject, CallEventType, expired, inviteSchema, V1, type InviteIn } from "./wire.ts";

export interface EventContext {
  botUserId: string;
  senderAllowed: boolean;
  /** Asks admission (admission/admission.ts) before a call placed to the bot is answered: undefined when it may be. */
  checkRoom(): Promise<Refusal | undefined>;
}

/** What admission needs from the call manager. */
export interface AdmissionHost {
  readonly partyId: string;
  /** The bot's call in a room, as the glare rule sees it. */
  callInRoom(roomId: string): RoomCall | undefined;
  /** A call with this ID is in progress or has ended (its invite is a duplicate or a replay). */
  hasCall(callId: string): boolean;
  /** Glare lost: the bot's own outgoing call is abandoned (hung up if its invite went out). */
  abandon(callId: string): void;
  /** Starts answering an admitted invite. Throws when it cannot (e.g. no camera). */
  answer(event: RoomCallEvent, invite: InviteIn, iceServers: RTCIceServer[], log: Logger): void;
  /** Sends an event outside any session (a decline). */
  send(roomId: string, type: string, content: Record<string, unknown>): Promise<void>;
  /** Handles an event again (the held ones, once the call exists). */
  replay(event: RoomCallEvent, ctx: EventContext): void;
}

/** Events of a call being admitted that are held; more are dropped. */
const MAX_HELD_EVENTS = 100;

export class InviteAdmission {
  /** Invites being admitted, with the caller's events that arrive meanwhile. */
  private readonly admitting = new Map<string, { sender: string; roomId: string; held: RoomCallEvent[] }>();
  /** Strangers in a room choose how often these are logged: once a minute per room and kind. */
  private readonly logOnce: LogOnce;

  constructor(
    private readonly host: AdmissionHost,
    private readonly turn: TurnCredentials,
    private readonly log: Logger,
  ) {
    this.logOnce = new LogOnce(log);
  }

  /** Holds an event of a call still being admitted; false when its call is not being admitted. */
  hold(callId: string, event: RoomCallEvent): boolean {
    const admitting = this.admitting.get(callId);
    if (admitting === undefined) return false;
    // Only the caller's events in the invite's room: the call ID alone is the caller's to choose, in any room.
    if (admitting.sender === event.sender && admitting.roomId === event.roomId && admitting.held.length < MAX_HELD_EVENTS)
      admitting.held.push(event);
    return true;
  }

  onInvite(event: RoomCallEvent, ctx: EventContext): void {
    const { roomId, sender } = event;
    const p = inviteSchema.safeParse(event.content);
    if (!p.success) {
      this.logOnce.warn(`${roomId} malformed-invite`, { room: roomId }, "malformed m.call.invite ignored");
      return;
    }
    const invite = p.data;
    const log = this.log.child({ call: invite.call_id, room: roomId });
    if (!ctx.senderAllowed) {
      this.logOnce.warn(
        `${roomId} stranger-call`,
        { room: roomId, call: invite.call_id, sender },
        "call from a user who is not allowed: ignored",
      );
      return;
    }
    if (invite.invitee !== undefined && invite.invitee !== ctx.botUserId) {
      log.debug({ invitee: invite.invitee }, "call invite for someone else ignored");
      return;
    }
    if (expired(event.ageMs, invite.lifetime)) {
      log.info({ ageMs: event.ageMs, lifetimeMs: invite.lifetime }, "call invite older than its lifetime ignored");
      return;
    }
    if (this.host.hasCall(invite.call_id) || this.admitting.has(invite.call_id)) return;
    this.admitting.set(invite.call_id, { sender, roomId, held: [] });
    void this.admit(event, invite, ctx, log);
  }

  private async admit(event: RoomCallEvent, invite: InviteIn, ctx: EventContext, log: Logger): Promise<void> {
    const { roomId, sender } = event;
    let held: RoomCallEvent[];
    try {
      const [refusal, iceServers] = await Promise.all([ctx.checkRoom(), this.turn.iceServers()]);
      held = this.admitting.get(invite.call_id)?.held ?? [];
      this.admitting.delete(invite.call_id);
      if (refusal !== undefined) {
        log.info({ sender, reason: refusal.reason }, "call to the bot declined: admission refused it");
        this.decline(roomId, invite, log);
        return;
      }
      if (held.some((e) => e.type === CallEventType.Hangup)) {
        log.info("the caller hung up before the call was answered");
        return;
      }
      const existing = this.host.callInRoom(roomId);
      const decision = decideInvite(existing, invite.call_id);
      switch (decision.kind) {
        case "busy":
          log.info({ why: decision.why }, "call to the bot declined: busy");
          this.decline(roomId, invite, log);
          return;
        case "keep_ours":
          log.info({ ours: existing?.callId, why: decision.why }, "glare: our call wins, theirs is ignored");
          return;
        case "replace_ours":
          log.info({ ours: existing?.callId, why: decision.why }, "glare: their call wins, ours is abandoned");
          if (existing !== undefined) this.host.abandon(existing.callId);
          break;
        case "answer":
          break;
      }
      this.host.answer(event, invite, iceServers, log);
    } catch (err: unknown) {
      this.admitting.delete(invite.call_id);
      if (err instanceof CallRefusedError)
        log.warn({ sender, reason: err.refusal.reason }, "call to the bot declined: admission refused it as it was answered");
      else log.error({ sender, err: errorMessage(err) }, "could not answer the call");
      this.decline(roomId, invite, log);
      return;
    }
    for (const e of held) this.host.replay(e, ctx);
  }

  /** Declines an invite we will not answer: m.call.reject for version 1, a hangup for version 0. */
  private decline(roomId: string, invite: InviteIn, log: Logger): void {
    const sending =
      invite.version === 0
        ? this.host.send(roomId, CallEventType.Hangup, {
            ...buildHangup({ call_id: invite.call_id, version: V1, party_id: this.host.partyId }, "user_busy"),
          })
        : this.host.send(roomId, CallEventType.Reject, { ...buildReject(invite.call_id, this.host.partyId) });
    sending.catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, "could not decline the call");
    });
  }
}
