/**
 * One doorbell press that rang: every listed user at once, each in their direct chat with the bot, each the way they
 * chose (legacy, MatrixRTC or both: ring-ways.ts). The first answer on any path, by anyone, keeps the call; every
 * other ring of the round (legacy invites and MatrixRTC rings, of every user) is withdrawn at once (round-race.ts)
 * and those users are told who answered; when nobody answers before the invite lifetime, each gets a missed-call
 * message. The posting of those messages (and of the snapshot) is round-messages.ts.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallRequest } from "../admission/admission.ts";
import type { Admission } from "../admission/refusal.ts";
import type { OutgoingCall } from "../call/outgoing-signalling.ts";
import type { RingConfig } from "../config/doorbell-schema.ts";
import type { CameraConfig } from "../config/load.ts";
import { type Logger } from "../util/logger.ts";
import type { DmRooms } from "./dm-rooms.ts";
import { answeredText, clockTime, displayName, missedText } from "./messages.ts";
import { RoundMessages } from "./round-messages.ts";
import { RoundRace, type Way } from "./round-race.ts";
import { RingWays, type DoorbellRtc, type LegacyRinger } from "./ring-ways.ts";
import type { Snapshotter } from "./snapshot.ts";

export interface RoundDeps {
  client: MatrixClient;
  calls: LegacyRinger;
  /** MatrixRTC rings for the users who chose them; absent: legacy calls only. */
  rtc?: DoorbellRtc | undefined;
  dms: DmRooms;
  snapshots: Snapshotter;
  inviteLifetimeMs: number;
  /** Resolves once the camera's pipeline shows a picture (or soon, when it does not): a rung call has started it. */
  pictureFlowing(camera: string): Promise<void>;
  /**
   * Whether the ring may start (admission/admission.ts): the room, the camera, a call in the room already (legacy or
   * MatrixRTC), capacity. Asked once per user, whichever way they are rung: `both` is one ring gone out two ways.
   */
  admission: { decide(req: CallRequest): Promise<Admission> };
}

interface Leg {
  user: string;
  room: string | undefined;
  /** The doorbell line went into the room. */
  told: boolean;
  /** Its send: the leg's later lines ("answered by", "missed") wait for it, so they come after it. */
  line: Promise<void>;
  /** "Answered by" went into the room. */
  toldAnswered: boolean;
}

export class RingRound {
  private readonly legs = new Map<string, Leg>();
  private readonly race = new RoundRace();
  private readonly ways: RingWays;
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
    this.ways = new RingWays({
      legacy: deps.calls,
      rtc: deps.rtc,
      race: this.race,
      camera: camera.name,
      log,
      onAnswered: (user, room, way) => {
        this.onAnswered(user, room, way);
      },
      tell: (room, text) => {
        if (this.cancelled) return;
        const line = [...this.legs.values()].find((l) => l.room === room)?.line;
        this.postAfter(room, line, () => this.deps.client.sendNotice(room, text));
      },
    });
  }

  /** The legacy calls this round placed, still ringing or in progress. */
  sessions(): OutgoingCall[] {
    return this.ways.sessions();
  }

  /** Resolves when every user's rings are answered or over and the messages are sent. */
  async run(): Promise<void> {
    const deadline = this.at.getTime() + this.deps.inviteLifetimeMs;
    // The round's own limit: a user who joined a new direct chat late rings only until the press's lifetime is over.
    const limit = setTimeout(() => {
      this.ways.expire();
    }, this.deps.inviteLifetimeMs + 1_000);
    try {
      await Promise.all(this.ring.users.map((user) => this.ringLeg(user, deadline)));
    } finally {
      clearTimeout(limit);
    }
    if (this.race.answeredBy === undefined && !this.cancelled) {
      for (const leg of this.legs.values()) {
        const room = leg.room;
        if (room !== undefined && leg.told && this.race.outcome(leg.user) !== "declined")
          this.postAfter(room, leg.line, () => this.messages.text(room, missedText(this.camera.name, this.time)));
      }
      this.log.info({ outcomes: this.race.outcomes() }, "nobody answered the doorbell");
    }
    await this.messages.drain();
  }

  /** Shutdown: no more messages, ringing calls (both paths) are withdrawn. */
  cancel(): void {
    this.cancelled = true;
    this.race.cancel();
  }

  private async ringLeg(user: string, deadline: number): Promise<void> {
    const leg: Leg = { user, room: undefined, told: false, line: Promise.resolve(), toldAnswered: false };
    this.legs.set(user, leg);
    const log = this.log.child({ user });
    const room = await this.deps.dms
      .roomFor(user, deadline, (known, ready) => {
        leg.room = known;
        // A new direct chat: the doorbell line waits there for the user to join. In a joined one it follows the ring.
        if (!ready) this.tell(leg);
      })
      .catch((err: unknown) => {
        log.warn({ err }, "could not find the direct chat");
        return undefined;
      });
    if (room === undefined) {
      this.race.notRung(user, "no_room");
      log.info("not rung: no direct chat joined in time");
      return;
    }
    // Not rung (answered by someone else, busy, refused): the line still says someone was at the door.
    if (this.overFor(leg)) return;
    const admitted = await this.deps.admission
      .decide({ kind: "ring", roomId: room, user, camera: this.camera.name })
      .catch((err: unknown) => {
        log.warn({ room, err }, "could not check the room");
        return undefined;
      });
    if (admitted === undefined || !admitted.ok) {
      this.tell(leg);
      // Answered by someone else while admission looked: onAnswered skipped this leg, which had no line yet.
      if (this.race.answeredBy !== undefined) this.postAnswered(leg);
      this.race.notRung(user, admitted?.reason === "room_busy" ? "busy" : "failed");
      if (admitted !== undefined)
        log.info(
          { room, reason: admitted.reason },
          admitted.reason === "room_busy" ? "not rung: already in a call with the bot" : "not rung: admission refused",
        );
      return;
    }
    // The round may have ended while admission looked at the room.
    if (this.overFor(leg)) return;
    // The line (and the snapshot's ffmpeg) once the ring is out: before it, each cost the ring a homeserver round
    // trip or a fork of the bot (bench `doorbell`).
    await this.ways.ring(user, room, deadline, () => {
      this.tell(leg, true);
    });
    // Answered by someone else while this user's rings were being placed: withdrawn as they went out.
    if (this.race.answeredBy !== undefined && this.race.answeredBy.user !== user) this.postAnswered(leg);
  }

  /**
   * The doorbell line into the leg's room, once; the round's snapshot is taken from the first line on, never before
   * the ring (its ffmpeg at the press: press → ringing 251–356 ms against 155–160, bench `doorbell`). After a ring it
   * waits for the call's picture, as the ring started the camera: a camera that allows few RTSP sessions is spared
   * two set-ups at once (when both began together, the bench's camera once stalled for the rest of a run, 2026-12-05
   * 19:57; not shown to be the cause).
   */
  private tell(leg: Leg, rung = false): void {
    const room = leg.room;
    if (room === undefined || leg.told || this.cancelled) return;
    leg.told = true;
    if (this.ring.snapshot) this.messages.startSnapshot(rung ? this.deps.pictureFlowing(this.camera.name) : undefined);
    leg.line = this.messages.post(room, () => this.messages.doorbellLine(room));
  }

  /** The round is cancelled or answered: this leg is not rung (and is told who answered). */
  private overFor(leg: Leg): boolean {
    if (!this.race.over) return false;
    this.tell(leg);
    this.race.notRung(leg.user, "not_rung");
    if (this.race.answeredBy !== undefined) this.postAnswered(leg);
    return true;
  }

  private onAnswered(user: string, room: string, way: Way): void {
    this.log.info({ user, room, way }, "doorbell answered");
    for (const other of this.legs.values()) if (other.user !== user && other.told) this.postAnswered(other);
  }

  private postAnswered(leg: Leg): void {
    const winner = this.race.answeredBy?.user;
    const room = leg.room;
    if (winner === undefined || room === undefined || this.cancelled || leg.toldAnswered) return;
    leg.toldAnswered = true;
    const name = displayName(this.deps.client, winner);
    this.postAfter(room, leg.line, async () => this.deps.client.sendNotice(room, answeredText(await name)));
  }

  /** A later line of a leg: sent once its doorbell line's send is over, unless the round was cancelled meanwhile. */
  private postAfter(room: string, line: Promise<void> | undefined, send: () => Promise<unknown>): void {
    void this.messages.post(room, async () => {
      await line;
      if (!this.cancelled) await send();
    });
  }
}
