/**
 * Each rung user's direct chat with the bot: an existing room with exactly the two of them joined
 * (from the bot's m.direct account data, else its joined rooms), or a new one the bot creates
 * (private_chat, is_direct, not encrypted) and invites them to; a ring waits for them to join.
 * The m.direct account data is m-direct.ts, the creation and its per-user limit dm-creation.ts, the createRoom
 * request dm-request.ts (re-exported here).
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { z } from "zod";
import type { AccessList } from "../admission/access.ts";
import { checkCallRoom } from "../admission/room-check.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { DmCreation } from "./dm-creation.ts";
import { LogOnce } from "./log-once.ts";
import { errcodeOf, MDirect } from "./m-direct.ts";

export { directChatRequest } from "./dm-request.ts";

const memberSchema = z.object({ membership: z.string() }).loose();
const memberEventSchema = z.object({ type: z.literal("m.room.member"), state_key: z.string(), content: memberSchema }).loose();

/** The joined rooms looked at, at most, when searching for a direct chat (a bot in thousands of rooms stays fast). */
const MAX_SCANNED_ROOMS = 300;
/** A user's m.direct rooms looked at, newest first (each costs a request). */
const MAX_DIRECT_CANDIDATES = 20;
/** A join missed by sync (a gappy timeline) is still noticed by this poll. */
const JOIN_POLL_MS = 5_000;
/**
 * "abandoned": only the bot is left, the user declined the invite or left (never to be used again); "gone": the bot is
 * no longer in the room (it left a room nobody else was in, alone-rooms.ts, or was removed).
 */
type RoomStatus = "ready" | "invited" | "abandoned" | "gone" | "unusable";

interface JoinWaiter {
  roomId: string;
  userId: string;
  resolve: (joined: boolean) => void;
}

export class DmRooms {
  /** The last direct chat found or created per user (checked again before each use). */
  private readonly known = new Map<string, string>();
  private readonly waiters = new Set<JoinWaiter>();
  private readonly direct: MDirect;
  private readonly creation: DmCreation;
  private stopped = false;
  private readonly onRoomEvent = (roomId: string, event: unknown): void => {
    const m = memberEventSchema.safeParse(event);
    if (!m.success || m.data.content.membership !== "join") return;
    for (const w of this.waiters) if (w.roomId === roomId && w.userId === m.data.state_key) w.resolve(true);
  };

  constructor(
    private readonly client: MatrixClient,
    private readonly botUserId: string,
    private readonly access: AccessList,
    private readonly log: Logger,
  ) {
    const logOnce = new LogOnce(log);
    this.direct = new MDirect(client, log, logOnce);
    this.creation = new DmCreation({
      client,
      direct: this.direct,
      log,
      logOnce,
      stopped: () => this.stopped,
      created: (user, roomId) => {
        this.known.set(user, roomId);
      },
    });
  }

  attach(): void {
    this.client.on("room.event", this.onRoomEvent);
  }

  stop(): void {
    this.stopped = true;
    this.client.off("room.event", this.onRoomEvent);
    for (const w of this.waiters) w.resolve(false);
  }

  /**
   * The room to ring `userId` in, once they are joined to it; undefined when there is none by `deadline`
   * (they did not join the new room in time) or it could not be made. `known` hears of the room as soon
   * as there is one, and whether the user is in it (`ready`) or has yet to join.
   */
  async roomFor(
    userId: string,
    deadline: number,
    known: (roomId: string, ready: boolean) => void = () => undefined,
  ): Promise<string | undefined> {
    const found = await this.find(userId);
    const roomId = found?.roomId ?? (await this.creation.createOnce(userId));
    if (roomId === undefined) return undefined;
    known(roomId, found?.status === "ready");
    if (found?.status === "ready") return roomId;
    const joined = await this.waitForJoin(roomId, userId, deadline);
    return joined ? roomId : undefined;
  }

  private async status(roomId: string, userId: string, again = true): Promise<RoomStatus> {
    let members: string[];
    try {
      members = await this.client.getJoinedRoomMembers(roomId);
    } catch (err: unknown) {
      // Synapse answers M_FORBIDDEN to a room the bot is not in; anything else (a network hiccup) is not certain.
      return errcodeOf(err) === "M_FORBIDDEN" ? "gone" : "unusable";
    }
    try {
      const check = checkCallRoom(members, this.botUserId, this.access);
      if (check.ok) return check.callee === userId ? "ready" : "unusable";
      if (members.length !== 1 || members[0] !== this.botUserId) return "unusable";
      const state = memberSchema.safeParse(await this.client.getRoomStateEvent(roomId, "m.room.member", userId));
      if (!state.success) return "unusable";
      const { membership } = state.data;
      // Joined between the two reads (a CI run rang nobody: the members read before the join, the state after it, and
      // that counted as unusable): read the room again, once; then the join event or the next poll decides.
      if (membership === "join") return again ? await this.status(roomId, userId, false) : "invited";
      return membership === "invite" ? "invited" : membership === "leave" || membership === "ban" ? "abandoned" : "unusable";
    } catch {
      // A network hiccup, or the user was never a member: nothing is certain, so nothing is left.
      return "unusable";
    }
  }

  /** Leaves a direct chat the user declined or left: the bot alone in it can never ring there again. */
  private async abandon(roomId: string, userId: string): Promise<void> {
    try {
      await this.client.leaveRoom(roomId);
      this.log.info({ room: roomId, user: userId }, "left a direct chat the user declined or left");
      await this.forget(roomId, userId);
    } catch (err: unknown) {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not leave an abandoned direct chat");
    }
  }

  /** Drops a room the bot is no longer in from the user's direct chats, so no press looks at it again. */
  private async forget(roomId: string, userId: string): Promise<void> {
    if (this.known.get(userId) === roomId) this.known.delete(userId);
    await this.direct.update(userId, (rooms) => rooms.filter((r) => r !== roomId));
  }

  /** A room that is (or is about to be, with the user invited) the direct chat of the bot and the user. */
  private async find(userId: string): Promise<{ roomId: string; status: "ready" | "invited" } | undefined> {
    // The room of the user's last ring, still their direct chat: m.direct is not read (a request in the press → ring
    // path; bench `doorbell`).
    const last = this.known.get(userId);
    const lastStatus = last === undefined ? undefined : await this.status(last, userId);
    if (last !== undefined && lastStatus === "ready") return { roomId: last, status: "ready" };
    const direct = await this.direct.read();
    const listed = (direct?.[userId] ?? []).slice(-MAX_DIRECT_CANDIDATES).reverse();
    const candidates = [last, ...listed].filter((r): r is string => r !== undefined);
    let invited: string | undefined;
    for (const roomId of new Set(candidates)) {
      const status = roomId === last && lastStatus !== undefined ? lastStatus : await this.status(roomId, userId);
      if (status === "ready") {
        this.known.set(userId, roomId);
        return { roomId, status };
      }
      if (status === "invited") invited ??= roomId;
      if (status === "abandoned") await this.abandon(roomId, userId);
      if (status === "gone") await this.forget(roomId, userId);
    }
    if (invited !== undefined) return { roomId: invited, status: "invited" };
    let joined: string[] = [];
    try {
      joined = await this.client.getJoinedRooms();
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, "could not list the joined rooms");
    }
    for (const roomId of joined.slice(0, MAX_SCANNED_ROOMS)) {
      if (candidates.includes(roomId)) continue;
      if ((await this.status(roomId, userId)) === "ready") {
        this.known.set(userId, roomId);
        return { roomId, status: "ready" };
      }
    }
    return undefined;
  }

  private waitForJoin(roomId: string, userId: string, deadline: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let poll: NodeJS.Timeout | undefined;
      const waiter: JoinWaiter = {
        roomId,
        userId,
        resolve: (joined) => {
          if (!this.waiters.delete(waiter)) return;
          clearTimeout(timer);
          clearTimeout(poll);
          resolve(joined);
        },
      };
      const timer = setTimeout(
        () => {
          waiter.resolve(false);
        },
        Math.max(0, deadline - Date.now()),
      );
      this.waiters.add(waiter);
      const check = (): void => {
        void this.status(roomId, userId).then((s) => {
          if (s === "ready") waiter.resolve(true);
          else if (s !== "invited") waiter.resolve(false);
          else if (this.waiters.has(waiter)) poll = setTimeout(check, JOIN_POLL_MS);
        });
      };
      // Listening first, then looking: a join between the two is not missed.
      check();
    });
  }
}
