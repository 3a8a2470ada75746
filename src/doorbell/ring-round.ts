/**
 * One doorbell press that rang: every listed user at once, each in their direct chat with the bot.
 * The first to answer keeps the call, the others' ringing calls are hung up and they are told who
 * answered; when nobody answers before the invite lifetime, each gets a missed-call message.
 * The posting of those messages (and of the snapshot) is round-messages.ts.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallRequest } from "../admission/admission.ts";
import type { Admission } from "../admission/refusal.ts";
import type { CallManager } from "../call/manager.ts";
import type { OutgoingCall } from "../call/outgoing-signalling.ts";
import { CallState } from "../call/state.ts";
import type { RingConfig } from "../config/doorbell-schema.ts";
import type { CameraConfig } from "../config/load.ts";
import { type Logger } from "../util/logger.ts";
import type { DmRooms } from "./dm-rooms.ts";
import { answeredText, clockTime, displayName, missedText } from "./messages.ts";
import { RoundMessages } from "./round-messages.ts";
import type { Snapshotter } from "./snapshot.ts";

export interface RoundDeps {
  client: MatrixClient;
  calls: CallManager;
  dms: DmRooms;
  snapshots: Snapshotter;
  inviteLifetimeMs: number;
  /** Whether the ring may start (admission/admission.ts): the room, the camera, a call in the room already, capacity. */
  admission: { decide(req: CallRequest): Promise<Admission> };
}

type Outcome = "pending" | "no_room" | "busy" | "failed" | "answered" | "declined" | "unanswered" | "not_rung";

interface Leg {
  user: string;
  room: string | undefined;
  session: OutgoingCall | undefined;
  outcome: Outcome;
  /** The doorbell line went into the room. */
  told: boolean;
  /** "Answered by" went into the room. */
  toldAnswered: boolean;
}

export class RingRound {
  private readonly legs = new Map<string, Leg>();
  private answeredBy: string | undefined;
  private cancelled = false;
  readonly at = new Date();
  private readonly time = clockTime(this.at);
  private readonly messages: RoundMessages;

  constructor(
    private readonly deps: RoundDeps,
    private readonly camera: CameraConfig,
    private readonly ring: RingConfig,
    private readonly log: Logger,
  ) {
    this.messages = new RoundMessages(deps.client, deps.snapshots, camera, this.time, log, () => this.cancelled);
  }

  /** The sessions this round placed, still ringing or in progress. */
  sessions(): OutgoingCall[] {
    return [...this.legs.values()].flatMap((l) => (l.session && l.session.state !== CallState.Ended ? [l.session] : []));
  }

  /** Resolves when every leg is answered or over and the messages are sent. */
  async run(): Promise<void> {
    const deadline = this.at.getTime() + this.deps.inviteLifetimeMs;
    if (this.ring.snapshot) this.messages.startSnapshot();
    // The round's own limit: a user who joined a new direct chat late rings only until the press's lifetime is over.
    const limit = setTimeout(() => {
      for (const leg of this.legs.values()) if (leg.session?.state === CallState.Ringing) leg.session.hangup("invite_timeout");
    }, this.deps.inviteLifetimeMs + 1_000);
    try {
      await Promise.all(this.ring.users.map((user) => this.ringLeg(user, deadline)));
    } finally {
      clearTimeout(limit);
    }
    if (this.answeredBy === undefined && !this.cancelled) {
      for (const leg of this.legs.values()) {
        if (leg.room !== undefined && leg.told && leg.outcome !== "declined")
          this.messages.post(leg.room, () => this.messages.text(leg.room ?? "", missedText(this.camera.name, this.time)));
      }
      this.log.info({ outcomes: Object.fromEntries([...this.legs].map(([u, l]) => [u, l.outcome])) }, "nobody answered the doorbell");
    }
    await this.messages.drain();
  }

  /** Shutdown: no more messages, ringing calls are hung up. */
  cancel(): void {
    this.cancelled = true;
    for (const leg of this.legs.values())
      if (leg.session?.state === CallState.Ringing || leg.session?.state === CallState.Preparing) leg.session.hangup("user_hangup");
  }

  private async ringLeg(user: string, deadline: number): Promise<void> {
    const leg: Leg = { user, room: undefined, session: undefined, outcome: "pending", told: false, toldAnswered: false };
    this.legs.set(user, leg);
    const log = this.log.child({ user });
    let told: Promise<void> = Promise.resolve();
    const room = await this.deps.dms
      .roomFor(user, deadline, (known) => {
        // Known before the user joined (a new direct chat): the doorbell line waits there for them.
        leg.room = known;
        if (this.cancelled || leg.told) return;
        leg.told = true;
        told = this.messages.postNow(known, () => this.messages.doorbellLine(known));
      })
      .catch((err: unknown) => {
        log.warn({ err }, "could not find the direct chat");
        return undefined;
      });
    await told;
    if (room === undefined) {
      leg.outcome = "no_room";
      log.info("not rung: no direct chat joined in time");
      return;
    }
    if (this.overFor(leg)) return;
    const admitted = await this.deps.admission
      .decide({ kind: "ring", roomId: room, user, camera: this.camera.name })
      .catch((err: unknown) => {
        log.warn({ room, err }, "could not check the room");
        return undefined;
      });
    if (admitted === undefined || !admitted.ok) {
      leg.outcome = admitted?.reason === "room_busy" ? "busy" : "failed";
      if (admitted !== undefined)
        log.info(
          { room, reason: admitted.reason },
          admitted.reason === "room_busy" ? "not rung: already in a call with the bot" : "not rung: admission refused",
        );
      return;
    }
    // The round may have ended while admission looked at the room.
    if (this.overFor(leg)) return;
    try {
      leg.session = await this.deps.calls.placeCall(room, user, this.camera.name);
    } catch (err: unknown) {
      leg.outcome = "failed";
      log.warn({ room, err }, "could not ring");
      return;
    }
    await this.follow(leg, leg.session);
  }

  /** The round is cancelled or answered: this leg is not rung (and is told who answered). */
  private overFor(leg: Leg): boolean {
    if (!this.cancelled && this.answeredBy === undefined) return false;
    leg.outcome = "not_rung";
    if (this.answeredBy !== undefined) this.postAnswered(leg);
    return true;
  }

  /** Waits until the leg's call is answered or over. */
  private follow(leg: Leg, session: OutgoingCall): Promise<void> {
    return new Promise((resolve) => {
      const onState = (state: CallState): void => {
        if (state === CallState.Connecting || state === CallState.Connected) {
          done();
          this.onAnswered(leg);
        }
      };
      const onEnded = (end: { reason: string }): void => {
        if (leg.outcome === "pending") leg.outcome = end.reason === "declined" ? "declined" : "unanswered";
        done();
      };
      const done = (): void => {
        session.off("state", onState);
        session.off("ended", onEnded);
        resolve();
      };
      session.on("state", onState);
      session.on("ended", onEnded);
      // The state may have moved on while placeCall resolved.
      if (session.state === CallState.Ended) onEnded({ reason: "unanswered" });
      else onState(session.state);
    });
  }

  private onAnswered(leg: Leg): void {
    if (this.answeredBy !== undefined) {
      // Answered a moment after someone else: this call is not the one kept.
      leg.outcome = "not_rung";
      const late = leg.session;
      // After the session's own state change has run its course.
      queueMicrotask(() => late?.hangup("user_hangup"));
      return;
    }
    this.answeredBy = leg.user;
    leg.outcome = "answered";
    this.log.info({ user: leg.user, room: leg.room }, "doorbell answered");
    // The spec has no "answered elsewhere" hangup reason for the caller's side: the others' invites end with user_hangup.
    for (const other of this.legs.values()) {
      if (other === leg) continue;
      const ringing = other.session !== undefined && other.session.state !== CallState.Ended;
      const session = other.session;
      if (ringing && session !== undefined) {
        other.outcome = "not_rung";
        queueMicrotask(() => {
          session.hangup("user_hangup");
        });
      }
      if (other.told) this.postAnswered(other);
    }
  }

  private postAnswered(leg: Leg): void {
    const winner = this.answeredBy;
    const room = leg.room;
    if (winner === undefined || room === undefined || this.cancelled || leg.toldAnswered) return;
    leg.toldAnswered = true;
    this.messages.post(room, async () => {
      await this.deps.client.sendNotice(room, answeredText(await displayName(this.deps.client, winner)));
    });
  }
}
