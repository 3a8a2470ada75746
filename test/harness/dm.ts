import type { MatrixClient } from "matrix-js-sdk";
import { waitFor } from "./wait.ts";

/** Creates a private room marked as a direct chat (is_direct), as Element does, inviting `invite`; does not wait for anyone to join. */
export async function createDirectRoom(client: MatrixClient, invite: readonly string[]): Promise<string> {
  const { room_id: roomId } = await client.createRoom({ preset: "private_chat" as never, is_direct: true, invite: [...invite] });
  return roomId;
}

/** Starts a direct chat with the bot, as Element does (private, is_direct), and waits until the bot has joined it. */
export async function openDirectChat(client: MatrixClient, botUserId: string, timeoutMs = 20_000): Promise<string> {
  const roomId = await createDirectRoom(client, [botUserId]);
  await waitFor(
    `${botUserId} to join the direct chat`,
    async () => Object.keys((await client.getJoinedRoomMembers(roomId)).joined).includes(botUserId),
    { timeoutMs },
  );
  return roomId;
}
