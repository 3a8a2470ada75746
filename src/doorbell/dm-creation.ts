/**
 * Creating a user's direct chat: one creation per user at a time, at most CREATIONS per user, then the room
 * recorded in m.direct. Apart from dm-rooms.ts (which finds an existing room first) because the limiter and the
 * in-flight map are state of their own: they keep a user who declines every invite from piling up rooms.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { errorMessage, type Logger } from "../util/logger.ts";
import { directChatRequest } from "./dm-request.ts";
import type { LogOnce } from "./log-once.ts";
import type { MDirect } from "./m-direct.ts";
import { KeyedBuckets } from "./rate-limit.ts";

/**
 * New direct chats per user: 3, then one an hour. A user who declines every invite would otherwise get a new room
 * and invite on every press, and the bot would pile up rooms.
 */
const CREATIONS = { burst: 3, perMinute: 1 / 60 };

export interface DmCreationDeps {
  client: MatrixClient;
  direct: MDirect;
  log: Logger;
  logOnce: LogOnce;
  /** The rooms' owner has stopped: nothing new is created. */
  stopped: () => boolean;
  /** Hears of the new room before m.direct is written, as the last direct chat of the user. */
  created: (userId: string, roomId: string) => void;
}

export class DmCreation {
  private readonly creating = new Map<string, Promise<string | undefined>>();
  private readonly creations = new KeyedBuckets(CREATIONS);

  constructor(private readonly deps: DmCreationDeps) {}

  /** One creation per user at a time: two doorbells pressed together make one room. */
  createOnce(userId: string): Promise<string | undefined> {
    const running = this.creating.get(userId);
    if (running) return running;
    const creation = this.create(userId).finally(() => this.creating.delete(userId));
    this.creating.set(userId, creation);
    return creation;
  }

  private async create(userId: string): Promise<string | undefined> {
    if (this.deps.stopped()) return undefined;
    const allowed = this.creations.check(userId);
    if (!allowed.ok) {
      this.deps.logOnce.warn(
        `creations ${userId}`,
        { user: userId, retryAfterMs: allowed.retryAfterMs },
        "not creating another direct chat for this user yet (they declined or left the last ones)",
      );
      return undefined;
    }
    try {
      const roomId = await this.deps.client.createRoom(directChatRequest(userId));
      this.deps.log.info({ room: roomId, user: userId }, "created a direct chat to ring in; waiting for the user to join");
      this.deps.created(userId, roomId);
      await this.deps.direct.update(userId, (rooms) => [...rooms.filter((r) => r !== roomId), roomId]);
      return roomId;
    } catch (err: unknown) {
      this.deps.log.error({ user: userId, err: errorMessage(err) }, "could not create a direct chat");
      return undefined;
    }
  }
}
