/**
 * The bot's m.direct account data (user to their direct chat rooms): reading it, and writing one user's rooms back.
 * Its own file because the one rule that matters here is easy to break from anywhere else: m.direct is only ever
 * written back after a good read, since writing {} after a failed read wiped every other user's direct chats.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { z } from "zod";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { LogOnce } from "./log-once.ts";

const directSchema = z.record(z.string(), z.array(z.string()));
const matrixErrorSchema = z.object({ errcode: z.string() }).loose();

/** A homeserver error's code (matrix-bot-sdk's MatrixError), if the error is one. */
export function errcodeOf(err: unknown): string | undefined {
  return matrixErrorSchema.safeParse(err).data?.errcode;
}

export class MDirect {
  constructor(
    private readonly client: MatrixClient,
    private readonly log: Logger,
    private readonly logOnce: LogOnce,
  ) {}

  /**
   * The bot's m.direct; {} when it has none yet, undefined when it could not be read (an error, or content this
   * code does not understand). It is only ever written back after a good read: writing {} after a failed read
   * wiped every other user's direct chats.
   */
  async read(): Promise<Record<string, string[]> | undefined> {
    try {
      const parsed = directSchema.safeParse(await this.client.getAccountData("m.direct"));
      if (parsed.success) return parsed.data;
      this.logOnce.warn("m.direct unreadable", {}, "m.direct is not a map of user to rooms: not using or changing it");
      return undefined;
    } catch (err: unknown) {
      if (errcodeOf(err) === "M_NOT_FOUND") return {};
      this.logOnce.warn("m.direct failed", { err: errorMessage(err) }, "could not read m.direct");
      return undefined;
    }
  }

  /** Writes m.direct with `userId`'s rooms changed by `change`, when it can be read. */
  async update(userId: string, change: (rooms: string[]) => string[]): Promise<void> {
    const direct = await this.read();
    if (direct === undefined) {
      this.log.warn({ user: userId }, "m.direct not updated: it could not be read");
      return;
    }
    const rooms = change(direct[userId] ?? []);
    const next = Object.fromEntries(Object.entries(direct).filter(([user]) => user !== userId));
    if (rooms.length > 0) next[userId] = rooms;
    await this.client.setAccountData("m.direct", next).catch((err: unknown) => {
      this.log.warn({ err: errorMessage(err) }, "could not update m.direct");
    });
  }
}
