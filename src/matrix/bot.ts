import type { MatrixClient } from "matrix-bot-sdk";
import { z } from "zod";
import { callAdmission, type CallAdmission } from "../admission/admission.ts";
import { CallRefusedError, type Refusal } from "../admission/refusal.ts";
import type { CallManager } from "../call/manager.ts";
import type { ActiveCall } from "../call/router.ts";
import { CallState } from "../call/state.ts";
import type { CameraConfig } from "../config/load.ts";
import { LogOnce } from "../doorbell/log-once.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CameraAccess, type AccessList } from "../admission/access.ts";
import { camerasText, helpText, parseCommand, type BotExtension, type Command } from "./commands.ts";

/** Commands older than this (e.g. replayed by the first sync after a restart) are not carried out. */
const MAX_COMMAND_AGE_MS = 60_000;

const eventSchema = z.object({
  event_id: z.string(),
  type: z.string(),
  sender: z.string(),
  origin_server_ts: z.number().optional(),
  state_key: z.string().optional(),
  content: z.record(z.string(), z.unknown()),
  // membership optional: zod 4 requires an unknown() key, and a state event replacing one of another type (a second
  // call.member, a power_levels change) has a prev_content without it; such events were dropped as malformed.
  unsigned: z
    .object({ age: z.number().optional(), prev_content: z.object({ membership: z.unknown().optional() }).loose().optional() })
    .loose()
    .optional(),
});
type RoomEvent = z.infer<typeof eventSchema>;

/** How old an event is: the server's `unsigned.age`, else from its timestamp. */
function ageOf(event: RoomEvent): number {
  return event.unsigned?.age ?? (event.origin_server_ts !== undefined ? Date.now() - event.origin_server_ts : 0);
}

/** The reply to !hangup or !switch from someone who is not the party of the call in the room. */
const NOT_YOURS = "The call in progress here is not yours: only the person it connects can end it or switch its camera.";

const messageSchema = z.object({ msgtype: z.string(), body: z.string().max(4096) });
const membershipSchema = z.object({ membership: z.string() });

/** Wires matrix-bot-sdk's events to the access list, the commands and the call manager. */
export class Bot {
  /** Anyone in a room with the bot chooses how often these are logged: once a minute per room and kind. */
  private readonly logOnce: LogOnce;
  /** Who the room was told about, per call: the third-member notice goes out once per newcomer and call. */
  private readonly announced = new WeakMap<ActiveCall, Set<string>>();
  private readonly cameraAccess: CameraAccess;

  constructor(
    private readonly client: MatrixClient,
    private readonly botUserId: string,
    private readonly access: AccessList,
    private readonly cameras: readonly CameraConfig[],
    private readonly calls: CallManager,
    private readonly log: Logger,
    /** The short `!status` text for `viewer` (their calls, the cameras they may use, TURN, encryption). */
    private readonly statusText: (viewer: string, cameras: readonly string[]) => Promise<string> = () => Promise.resolve("running"),
    /** Whether a call may start (`!call`, a call placed to the bot); app.ts passes the one with the per-user rate. */
    private readonly admission: CallAdmission = callAdmission({
      botUserId,
      access,
      cameras,
      calls,
      members: (roomId) => client.getJoinedRoomMembers(roomId),
    }),
    private readonly extension?: BotExtension,
  ) {
    this.logOnce = new LogOnce(log);
    this.cameraAccess = new CameraAccess(access, cameras);
  }

  attach(): void {
    this.client.on("room.invite", (roomId: string, event: unknown) => {
      this.guard("room.invite", roomId, () => this.onInvite(roomId, event));
    });
    this.client.on("room.message", (roomId: string, event: unknown) => {
      this.guard("room.message", roomId, () => this.onMessage(roomId, event));
    });
    this.client.on("room.event", (roomId: string, event: unknown) => {
      this.guard("room.event", roomId, () => {
        this.onRoomEvent(roomId, event);
      });
    });
    this.client.on("room.leave", (roomId: string) => {
      this.calls.memberLeft(roomId, this.botUserId, this.botUserId);
    });
  }

  /** No event, however malformed, may throw out of a handler or reject unhandled. */
  private guard(what: string, roomId: string, fn: () => Promise<void> | void): void {
    try {
      Promise.resolve(fn()).catch((err: unknown) => {
        this.log.error({ room: roomId, err: errorMessage(err) }, `error handling ${what}`);
      });
    } catch (err: unknown) {
      this.log.error({ room: roomId, err: errorMessage(err) }, `error handling ${what}`);
    }
  }

  private parseEvent(roomId: string, raw: unknown): RoomEvent | undefined {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) {
      this.logOnce.warn(`${roomId} malformed-event`, { room: roomId }, "malformed event ignored");
      return undefined;
    }
    return parsed.data;
  }

  private async onInvite(roomId: string, raw: unknown): Promise<void> {
    const event = this.parseEvent(roomId, raw);
    if (!event) return;
    if (!this.access.allows(event.sender)) {
      this.log.warn({ room: roomId, sender: event.sender }, "invite from a user who is not allowed: rejected");
      await this.client.leaveRoom(roomId);
      return;
    }
    await this.client.joinRoom(roomId);
    this.log.info({ room: roomId, sender: event.sender }, "joined a room on invite");
  }

  private async onMessage(roomId: string, raw: unknown): Promise<void> {
    const event = this.parseEvent(roomId, raw);
    if (!event || event.sender === this.botUserId) return;
    const message = messageSchema.safeParse(event.content);
    if (!message.success || message.data.msgtype !== "m.text") return;
    const command = parseCommand(message.data.body);
    if (!command) return;
    if (!this.access.allows(event.sender)) {
      this.log.info({ room: roomId, sender: event.sender }, "command from a user who is not allowed: ignored");
      return;
    }
    const age = ageOf(event);
    if (age > MAX_COMMAND_AGE_MS) {
      this.log.info({ room: roomId, ageMs: age }, "stale command ignored");
      return;
    }
    await this.runCommand(roomId, event.sender, command);
  }

  private notice(roomId: string, text: string): Promise<unknown> {
    return this.client.sendNotice(roomId, text);
  }

  /** The names of the cameras `userId` may use: the only ones the bot names to them or lets them choose. */
  private namesFor(userId: string): string[] {
    return this.cameraAccess.camerasFor(userId, this.cameras).map((c) => c.name);
  }

  private async runCommand(roomId: string, sender: string, command: Command): Promise<void> {
    if (await this.extension?.runCommand(roomId, sender, command)) return;
    switch (command.kind) {
      case "help":
        await this.notice(roomId, helpText(this.namesFor(sender)));
        return;
      case "cameras":
        await this.notice(roomId, camerasText(this.cameraAccess.camerasFor(sender, this.cameras)));
        return;
      case "unknown":
        await this.notice(roomId, `Unknown command !${command.word}. Type !help for the commands.`);
        return;
      case "hangup":
        switch (this.calls.hangupRoom(roomId, sender)) {
          case "no_call":
            await this.notice(roomId, "There is no call in progress here.");
            return;
          case "not_yours":
            await this.notice(roomId, NOT_YOURS);
            return;
          case "ended":
            return;
        }
        return;
      case "call":
        await this.call(roomId, sender, command.camera);
        return;
      case "switch":
        await this.switchCamera(roomId, sender, command.camera);
        return;
      case "status":
        await this.notice(roomId, await this.statusText(sender, this.namesFor(sender)));
        return;
      case "ring":
        await this.notice(roomId, "This bot rings with legacy calls only.");
        return;
    }
  }

  /** !switch: the sender's call in this room shows another camera (one they may use), without renegotiation. */
  private async switchCamera(roomId: string, sender: string, camera: string | undefined): Promise<void> {
    const names = this.namesFor(sender);
    if (camera === undefined) {
      await this.notice(roomId, `Which camera? Type !switch <camera>. Cameras: ${names.join(", ")}`);
      return;
    }
    // A camera the sender may not use is one the bot does not name to them: "unknown", like a missing one.
    if (!names.includes(camera)) {
      await this.notice(roomId, `Unknown camera "${camera.slice(0, 32)}". Cameras: ${names.join(", ")}`);
      return;
    }
    try {
      const result = await this.calls.switchCamera(roomId, camera, sender);
      switch (result) {
        case "no_call":
          await this.notice(roomId, "There is no call in progress here. Type !call <camera> to start one.");
          return;
        case "not_yours":
          await this.notice(roomId, NOT_YOURS);
          return;
        case "unknown_camera":
          await this.notice(roomId, `Unknown camera "${camera.slice(0, 32)}". Cameras: ${names.join(", ")}`);
          return;
        case "same_camera":
          await this.notice(roomId, `The call already shows ${camera}.`);
          return;
        case "switched":
          await this.notice(roomId, `Now showing ${camera}.`);
          return;
      }
    } catch (err: unknown) {
      this.log.warn({ room: roomId, camera, err: errorMessage(err) }, "could not switch the camera");
      await this.notice(roomId, `Could not switch to ${camera}: ${errorMessage(err)}`);
    }
  }

  private async call(roomId: string, sender: string, camera: string | undefined): Promise<void> {
    if (camera === undefined) {
      await this.notice(roomId, `Which camera? Type !call <camera>. Cameras: ${this.namesFor(sender).join(", ")}`);
      return;
    }
    const admitted = await this.admission.decide({ kind: "command", roomId, user: sender, camera });
    if (!admitted.ok) {
      this.log.info({ room: roomId, sender, camera, reason: admitted.reason }, "call refused");
      await this.notice(roomId, admitted.text);
      return;
    }
    try {
      await this.calls.placeCall(roomId, admitted.callee, camera);
    } catch (err: unknown) {
      if (err instanceof CallRefusedError) {
        this.log.info({ room: roomId, sender, camera, reason: err.refusal.reason }, "call refused as it was placed");
        await this.notice(roomId, err.refusal.text);
        return;
      }
      this.log.error({ room: roomId, camera, err: errorMessage(err) }, "could not place the call");
      await this.notice(roomId, `The call to ${camera} could not be placed: ${errorMessage(err)}`);
    }
  }

  private onRoomEvent(roomId: string, raw: unknown): void {
    const event = this.parseEvent(roomId, raw);
    if (!event) return;
    this.extension?.roomEvent(roomId, raw);
    if (event.type === "m.room.member" && event.state_key !== undefined) {
      const m = membershipSchema.safeParse(event.content);
      if (m.success && (m.data.membership === "leave" || m.data.membership === "ban")) {
        this.calls.memberLeft(roomId, event.state_key, this.botUserId);
      }
      // A join, not a profile change of someone already joined.
      if (m.success && m.data.membership === "join" && event.unsigned?.prev_content?.membership !== "join") {
        this.memberJoined(roomId, event.state_key, ageOf(event));
      }
      return;
    }
    if (event.type.startsWith("m.call.") || event.type.startsWith("org.matrix.call.")) {
      // An invite older than its lifetime is ignored by the call manager (it knows the lifetime).
      this.calls.handleEvent(
        { roomId, sender: event.sender, type: event.type, content: event.content, ageMs: ageOf(event) },
        {
          botUserId: this.botUserId,
          senderAllowed: this.access.allows(event.sender),
          checkRoom: () => this.checkInboundRoom(roomId, event.sender),
        },
      );
    }
  }

  /**
   * A third member joined a room while a call is in progress there. The call goes on: its media is
   * encrypted end to end (DTLS-SRTP) between the bot and the device that answered, so the newcomer
   * cannot see it, and their call events are ignored (only the call's other party counts). What
   * changes is the room: it fails the two-member check, so no new call is placed or answered there.
   * The room is told once per joining member.
   */
  private memberJoined(roomId: string, userId: string, ageMs: number): void {
    const call = this.calls.callInRoom(roomId);
    if (
      call === undefined ||
      call.state === CallState.Ended ||
      userId === this.botUserId ||
      userId === call.peer ||
      ageMs > MAX_COMMAND_AGE_MS
    )
      return;
    const announced = this.announced.get(call) ?? new Set<string>();
    this.announced.set(call, announced);
    if (announced.has(userId)) return;
    announced.add(userId);
    this.log.info(
      { room: roomId, call: call.callId, member: userId },
      "a third member joined a room with a call in progress; the call goes on",
    );
    const text =
      `${userId} joined this room during the call. The call goes on: its video reaches only ${call.peer}'s device, ` +
      "and nobody else can see it. While this room has more than two members I won't place or answer calls in it.";
    this.notice(roomId, text).catch((err: unknown) => {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not post the third-member notice");
    });
  }

  /** Before a call placed to the bot is answered: admission, as for `!call`. A refusal is said in the room. */
  private async checkInboundRoom(roomId: string, caller: string): Promise<Refusal | undefined> {
    const admitted = await this.admission.decide({ kind: "inbound", roomId, user: caller, camera: this.calls.defaultCamera() });
    if (admitted.ok) return undefined;
    this.log.info({ room: roomId, reason: admitted.reason }, "call to the bot refused");
    await this.notice(roomId, admitted.text).catch((err: unknown) => {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not say why the call was refused");
    });
    return admitted;
  }
}
