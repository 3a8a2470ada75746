import type { AccessList } from "./access.ts";

/** Why a room fails the check, as a code (for admission's refusal) and as the sentence the user reads. */
export type RoomFault = { ok: false; code: "bot_not_joined" | "nobody_else" | "not_direct" | "peer_not_allowed"; reason: string };

export type RoomCheck = { ok: true; callee: string } | { ok: false; reason: string };

/**
 * Before any call: the bot is joined, exactly two members are joined, and the other one is allowed
 * (the spec: calls go only to rooms with one other user, or someone else could answer).
 */
export function examineCallRoom(
  joinedMembers: readonly string[],
  botUserId: string,
  access: AccessList,
): { ok: true; callee: string } | RoomFault {
  if (!joinedMembers.includes(botUserId)) return { ok: false, code: "bot_not_joined", reason: "I am not joined to this room." };
  const others = joinedMembers.filter((m) => m !== botUserId);
  if (others.length === 0) return { ok: false, code: "nobody_else", reason: "Nobody else is in this room to call." };
  if (others.length > 1) {
    return {
      ok: false,
      code: "not_direct",
      reason: `I only place calls in a direct chat with exactly two members; this room has ${joinedMembers.length}. Start a direct chat with me and call from there.`,
    };
  }
  const callee = others[0] ?? "";
  if (!access.allows(callee))
    return { ok: false, code: "peer_not_allowed", reason: "The other member of this room is not allowed to use this bot." };
  return { ok: true, callee };
}

/** examineCallRoom without the code: whether the room is one to call in, and with whom. */
export function checkCallRoom(joinedMembers: readonly string[], botUserId: string, access: AccessList): RoomCheck {
  const check = examineCallRoom(joinedMembers, botUserId, access);
  return check.ok ? check : { ok: false, reason: check.reason };
}
