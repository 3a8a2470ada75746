/** The few Matrix client-server calls the benchmark makes as the viewer (rooms, `!call`, state), with plain fetch. */
import { randomBytes } from "node:crypto";
import { waitFor } from "../test/harness/wait.ts";

async function request(
  baseUrl: string,
  token: string,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const init: RequestInit = {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    signal: AbortSignal.timeout(15_000),
  };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${baseUrl}${path}`, init);
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
  return json;
}

export class Viewer {
  constructor(
    readonly baseUrl: string,
    readonly token: string,
  ) {}

  /** A direct chat with the bot; resolves once the bot has joined it. */
  async directChatWith(botUserId: string): Promise<string> {
    const created = await request(this.baseUrl, this.token, "POST", "/_matrix/client/v3/createRoom", {
      preset: "private_chat",
      is_direct: true,
      invite: [botUserId],
    });
    const roomId = created["room_id"];
    if (typeof roomId !== "string") throw new Error("createRoom: no room_id");
    await waitFor(
      `the bot to join ${roomId}`,
      async () => {
        const res = await request(this.baseUrl, this.token, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`);
        const joined = res["joined"];
        return typeof joined === "object" && joined !== null && botUserId in joined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    return roomId;
  }

  async say(roomId: string, body: string): Promise<void> {
    const txn = randomBytes(8).toString("hex");
    await request(this.baseUrl, this.token, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txn}`, {
      msgtype: "m.text",
      body,
    });
  }

  /** A state event's content, or undefined when the room has none of that type and key. */
  async state(roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | undefined> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`;
    const res = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(15_000),
    });
    if (res.status === 404) return undefined;
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${JSON.stringify(json).slice(0, 200)}`);
    return json;
  }

  /** Gives a user a power level in the room (the viewer created it, with power 100). */
  async setPower(roomId: string, userId: string, level: number): Promise<void> {
    const levels = (await this.state(roomId, "m.room.power_levels", "")) ?? {};
    const users = typeof levels["users"] === "object" && levels["users"] !== null ? levels["users"] : {};
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/m.room.power_levels/`;
    await request(this.baseUrl, this.token, "PUT", path, { ...levels, users: { ...users, [userId]: level } });
  }

  /** The newest text message `sender` sent in the room (of the last 20 events), or undefined. */
  async lastMessageFrom(roomId: string, sender: string): Promise<string | undefined> {
    const res = await request(
      this.baseUrl,
      this.token,
      "GET",
      `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=20`,
    );
    const chunk = Array.isArray(res["chunk"]) ? (res["chunk"] as unknown[]) : [];
    for (const e of chunk) {
      if (typeof e !== "object" || e === null) continue;
      const ev = e as { sender?: unknown; type?: unknown; content?: { body?: unknown } };
      if (ev.sender === sender && ev.type === "m.room.message" && typeof ev.content?.body === "string") return ev.content.body;
    }
    return undefined;
  }
}
