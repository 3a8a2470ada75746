import type { AccessList } from "./access.ts";

export type RoomCheck = { ok: true; callee: string } | { ok: false; reason: string };

/**
 * Before any call: the bot is joined, exactly two members are joined, and the other one is allowed
 * (the spec: calls go only to rooms with one other user, or someone else could answer).
 */
export function checkCallRoom(joinedMembers: readonly string[], botUserId: string, access: AccessList): RoomCheck {
  if (!joinedMembers.includes(botUserId)) return { ok: false, reason: "I am not joined to this room." };
  const others = joinedMembers.filter((m) => m !== botUserId);
  if (others.length === 0) return { ok: false, reason: "Nobody else is in this room to call." };
  if (others.length > 1) {
    return {
      ok: false,
      reason: `I only place calls in a direct chat with exactly two members; this room has ${joinedMembers.length}. Start a direct chat with me and call from there.`,
    };
  }
  const callee = others[0] ?? "";
  if (!access.allows(callee)) return { ok: false, reason: "The other member of this room is not allowed to use this bot." };
  return { ok: true, callee };
}
