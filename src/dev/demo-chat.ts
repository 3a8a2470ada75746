/** The demo's direct chat between the person and the bot (and the bot's name), made over the client-server API. */
import { z } from "zod";
import type { Logger } from "../util/logger.ts";
import { isErrcode, matrixRequest } from "./matrix-http.ts";

/** How long the bot may take to join the chat it is invited to. */
const BOT_JOIN_TIMEOUT_MS = 30_000;

/** The person's side of the chat. */
interface ChatUser {
  userId: string;
  accessToken: string;
}

const emptySchema = z.object({}).loose();
const roomIdSchema = z.object({ room_id: z.string() }).loose();
const joinedMembersSchema = z.object({ joined: z.record(z.string(), z.unknown()) }).loose();
const directSchema = z.record(z.string(), z.array(z.string()));

function enc(s: string): string {
  return encodeURIComponent(s);
}

async function joinedMembers(url: string, token: string, roomId: string): Promise<string[]> {
  const res = await matrixRequest(url, `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, joinedMembersSchema, "joined members", {
    accessToken: token,
  });
  return Object.keys(res.joined);
}

/** Marks the room as the person's direct chat with the bot (so clients list it under People). */
async function markDirect(url: string, user: ChatUser, botUserId: string, roomId: string): Promise<void> {
  const direct = `/_matrix/client/v3/user/${enc(user.userId)}/account_data/m.direct`;
  let current: Record<string, string[]> = {};
  try {
    current = await matrixRequest(url, direct, directSchema, "read m.direct", { accessToken: user.accessToken });
  } catch (err: unknown) {
    if (!isErrcode(err, "M_NOT_FOUND")) throw err;
  }
  const rooms = current[botUserId] ?? [];
  if (rooms.includes(roomId)) return;
  await matrixRequest(url, direct, emptySchema, "write m.direct", {
    method: "PUT",
    accessToken: user.accessToken,
    body: { ...current, [botUserId]: [...rooms, roomId] },
  });
}

/** The saved direct chat when both are still in it; else a new one, created by the person, that the bot joins. */
export async function ensureDirectChat(
  url: string,
  user: ChatUser,
  botUserId: string,
  savedRoomId: string | undefined,
  log: Logger,
): Promise<string> {
  if (savedRoomId !== undefined) {
    const members = await joinedMembers(url, user.accessToken, savedRoomId).catch((err: unknown): string[] => {
      log.info(
        { room: savedRoomId, err: err instanceof Error ? err.message : String(err) },
        "demo: the saved chat is gone; creating a new one",
      );
      return [];
    });
    if (members.includes(user.userId) && members.includes(botUserId)) return savedRoomId;
  }
  const { room_id: roomId } = await matrixRequest(url, "/_matrix/client/v3/createRoom", roomIdSchema, "create the direct chat", {
    accessToken: user.accessToken,
    body: { preset: "trusted_private_chat", is_direct: true, invite: [botUserId] },
  });
  await markDirect(url, user, botUserId, roomId);
  const deadline = Date.now() + BOT_JOIN_TIMEOUT_MS;
  while (!(await joinedMembers(url, user.accessToken, roomId)).includes(botUserId)) {
    if (Date.now() > deadline) throw new Error(`the bot did not join the direct chat ${roomId} within ${BOT_JOIN_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  log.info({ room: roomId }, "demo: direct chat with the bot created");
  return roomId;
}

export async function setDisplayName(url: string, user: ChatUser, name: string): Promise<void> {
  await matrixRequest(url, `/_matrix/client/v3/profile/${enc(user.userId)}/displayname`, emptySchema, "set the display name", {
    method: "PUT",
    accessToken: user.accessToken,
    body: { displayname: name },
  });
}
