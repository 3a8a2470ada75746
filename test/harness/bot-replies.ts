/**
 * Waiting for the bot's words in a room as a user's client (callee.ts) sees them: the messages that come after a
 * mark, not the ones an earlier step already read.
 */
import type { Callee } from "./callee.ts";
import { waitFor } from "./wait.ts";

type Match = (text: string) => boolean;

export interface MessageMark {
  /** Waits for `sender`'s first message after the mark that `match` accepts. */
  next(what: string, match: Match): Promise<string>;
}

/** Marks where `sender`'s messages in `roomId` stand now, as `user`'s client has them. */
export function markMessages(user: Callee, roomId: string, sender: string): MessageMark {
  const before = user.messages(roomId, sender).length;
  return {
    next: (what, match) => waitFor(what, () => user.messages(roomId, sender).slice(before).find(match)),
  };
}

/** `user` types `body` in `roomId`; resolves with `bot`'s first reply there that `reply` accepts. */
export async function sayToBot(user: Callee, roomId: string, bot: string, body: string, reply: Match): Promise<string> {
  const mark = markMessages(user, roomId, bot);
  await user.client.sendTextMessage(roomId, body);
  return mark.next(`the bot's reply to ${body}`, reply);
}
