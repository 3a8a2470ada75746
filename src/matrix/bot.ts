/**
 * The bot's event wiring: matrix-bot-sdk's room.invite, room.message, room.event and room.leave, each parsed and
 * guarded so no event can throw out of a handler, then routed: invites to the access list, commands to
 * command-handler.ts, membership changes to membership.ts, m.call.* events to the call manager (with the inbound
 * admission check), every room event to the MatrixRTC extension. The envelope schemas are in events.ts.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { callAdmission, type CallAdmission } from "../admission/admission.ts";
import type { Refusal } from "../admission/refusal.ts";
import type { CallManager } from "../call/manager.ts";
import type { CameraConfig } from "../config/load.ts";
import { LogOnce } from "../doorbell/log-once.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { CameraAccess, type AccessList } from "../admission/access.ts";
import { CommandHandler } from "./command-handler.ts";
import { parseCommand, type BotExtension } from "./commands.ts";
import { ageOf, eventSchema, MAX_COMMAND_AGE_MS, messageSchema, type RoomEvent } from "./events.ts";
import { AloneRooms } from "./alone-rooms.ts";
import { MembershipHandler } from "./membership.ts";

/** Wires matrix-bot-sdk's events to the access list, the commands and the call manager. */
export class Bot {
  /** Anyone in a room with the bot chooses how often these are logged: once a minute per room and kind. */
  private readonly logOnce: LogOnce;
  private readonly commands: CommandHandler;
  private readonly membership: MembershipHandler;
  private readonly alone: AloneRooms;

  constructor(
    private readonly client: MatrixClient,
    private readonly botUserId: string,
    private readonly access: AccessList,
    cameras: readonly CameraConfig[],
    private readonly calls: CallManager,
    private readonly log: Logger,
    /** The short `!status` text for `viewer` (their calls, the cameras they may use, TURN, encryption). */
    statusText: (viewer: string, cameras: readonly string[]) => Promise<string> = () => Promise.resolve("running"),
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
    const cameraAccess = new CameraAccess(access, cameras);
    this.commands = new CommandHandler(client, cameraAccess, cameras, calls, log, statusText, admission, extension);
    const busy = (roomId: string): boolean => calls.busyIn(roomId) || extension?.busyIn?.(roomId) === true;
    this.alone = new AloneRooms(client, botUserId, busy, log);
    this.membership = new MembershipHandler(
      client,
      botUserId,
      calls,
      log,
      (roomId) => extension?.calleeIn?.(roomId),
      (roomId) => void this.alone.memberGone(roomId),
    );
  }

  /** Shutting down: no room is left after this. */
  stop(): void {
    this.alone.stop();
  }

  /** Routes the client's events; once `firstSync` (when given) is in, leaves the rooms nobody else is in any more. */
  attach(firstSync?: Promise<void>): void {
    firstSync?.then(
      () => {
        this.guard("the start-up check of rooms", "*", () => this.leaveRoomsAlone());
      },
      () => undefined, // the start has failed: app.ts stops the bot
    );
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
      this.extension?.roomLeft?.(roomId);
    });
  }

  private async leaveRoomsAlone(): Promise<void> {
    const rooms = await this.client.getJoinedRooms();
    const left = await this.alone.sweep(rooms);
    this.log.info({ rooms: rooms.length, left }, "start-up check of the rooms for ones nobody else is in: done");
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
    await this.commands.runCommand(roomId, event.sender, command);
  }

  private onRoomEvent(roomId: string, raw: unknown): void {
    const event = this.parseEvent(roomId, raw);
    if (!event) return;
    // Membership first: a MatrixRTC call that a third member ends (the extension's event) is still there to be named.
    if (event.type === "m.room.member" && event.state_key !== undefined) this.membership.memberEvent(roomId, event.state_key, event);
    this.extension?.roomEvent(roomId, raw);
    if (event.type === "m.room.member") return;
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

  /** Before a call placed to the bot is answered: admission, as for `!call`. A refusal is said in the room. */
  private async checkInboundRoom(roomId: string, caller: string): Promise<Refusal | undefined> {
    const admitted = await this.admission.decide({ kind: "inbound", roomId, user: caller, camera: this.calls.defaultCamera() });
    if (admitted.ok) return undefined;
    this.log.info({ room: roomId, reason: admitted.reason }, "call to the bot refused");
    await this.client.sendNotice(roomId, admitted.text).catch((err: unknown) => {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not say why the call was refused");
    });
    return admitted;
  }
}
