/**
 * What to do with an m.call.invite placed to the bot, given the call the bot already has in that
 * room: a pure function (no I/O), the spec's glare rule (voip_events.md, "Glare").
 *
 * - No call in the room (or only an ended one): answer theirs.
 * - Our outgoing call is still being prepared (nothing sent): cancel ours, answer theirs.
 * - Our invite is out and unanswered: the lexicographically lesser call ID wins. If theirs is the
 *   lesser, ours is hung up and theirs answered; otherwise theirs is ignored (matrix-js-sdk, the
 *   other side, reaches the same verdict and answers ours).
 * - A call that is already answered (either direction), or another call placed to us: busy.
 */
import { CallState } from "./state.ts";

export interface RoomCall {
  direction: "outgoing" | "incoming";
  callId: string;
  state: CallState;
}

export type InviteDecision =
  | { kind: "answer" }
  | { kind: "replace_ours"; why: "ours was still being prepared" | "their call ID is the lesser" }
  | { kind: "keep_ours"; why: "our call ID is the lesser" }
  | { kind: "busy"; why: string };

/** Lexicographic comparison by UTF-16 code units, as the spec and matrix-js-sdk (`>` on strings) do. */
export function lesserCallId(a: string, b: string): string {
  return a < b ? a : b;
}

export function decideInvite(existing: RoomCall | undefined, theirCallId: string): InviteDecision {
  if (existing === undefined || existing.state === CallState.Ended) return { kind: "answer" };
  if (existing.direction === "incoming") return { kind: "busy", why: "another call to the bot is in progress in this room" };
  switch (existing.state) {
    case CallState.Preparing:
      return { kind: "replace_ours", why: "ours was still being prepared" };
    case CallState.Ringing:
      if (theirCallId !== existing.callId && lesserCallId(theirCallId, existing.callId) === theirCallId) {
        return { kind: "replace_ours", why: "their call ID is the lesser" };
      }
      return { kind: "keep_ours", why: "our call ID is the lesser" };
    case CallState.Connecting:
    case CallState.Connected:
      return { kind: "busy", why: "the bot's call in this room was already answered" };
  }
}
