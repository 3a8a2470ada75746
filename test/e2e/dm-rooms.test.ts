/**
 * The doorbell's direct-chat bookkeeping (DmRooms) against a real Synapse, with matrix-bot-sdk clients for the bot and
 * the rung users: m.direct is only written after a good read (a failed read used to write back {} plus one room, wiping
 * everyone else's direct chats), a chat the user declined is left, a user who joins while the bot reads the room is
 * rung, a chat the bot is no longer in is dropped from m.direct, and new chats per user are limited.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DmRooms } from "../../src/doorbell/dm-rooms.ts";
import { AccessList } from "../../src/admission/access.ts";
import { loadBotSdk } from "../../src/matrix/sdk.ts";
import { createLogger } from "../../src/util/logger.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

const { MatrixClient: BotClient, MatrixError } = loadBotSdk().sdk;
let synapse: SynapseHandle;
let bot: RegisteredUser;
let botClient: MatrixClient;
let dms: DmRooms;
const users: Record<"alice" | "bob" | "carol" | "dave", RegisteredUser> = {} as never;

beforeAll(async () => {
  synapse = await startSynapse();
  bot = await synapse.registerUser("dmbot");
  for (const name of ["alice", "bob", "carol", "dave"] as const) users[name] = await synapse.registerUser(name);
  botClient = new BotClient(synapse.baseUrl, bot.accessToken);
  dms = new DmRooms(botClient, bot.userId, new AccessList(Object.values(users).map((u) => u.userId)), createLogger({ level: "silent" }));
}, 180_000);

afterAll(async () => {
  dms.stop();
  await synapse.stop();
});

/** One press's lookup for `user`, not waiting for them to join: the room it found or created, if any. */
async function press(user: RegisteredUser): Promise<string | undefined> {
  let room: string | undefined;
  await dms.roomFor(user.userId, Date.now() + 300, (r) => (room = r));
  return room;
}

const readDirect = async (): Promise<Record<string, string[]>> => botClient.getAccountData<Record<string, string[]>>("m.direct");

describeE2E("DmRooms", () => {
  it("never rewrites m.direct after a failed read: the other users' direct chats stay", async () => {
    const others = { [users.bob.userId]: ["!bob-room:localhost"], "@eve:elsewhere.example": ["!eve-room:elsewhere.example"] };
    await botClient.setAccountData("m.direct", others);
    // The homeserver has a hiccup: every m.direct read fails while carol's doorbell rings.
    const read = botClient.getAccountData.bind(botClient);
    botClient.getAccountData = () => Promise.reject(new MatrixError({ errcode: "M_UNKNOWN", error: "bad gateway" }, 502));
    let room: string | undefined;
    try {
      room = await press(users.carol);
    } finally {
      botClient.getAccountData = read;
    }
    expect(room).toMatch(/^!/);
    expect(await readDirect()).toEqual(others);
  });

  it("keeps every user's entry when one user has more than 1000 rooms in m.direct", async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `!old-${String(i)}:localhost`);
    await botClient.setAccountData("m.direct", { [users.bob.userId]: ["!bob-room:localhost"], "@eve:elsewhere.example": many });
    const room = await press(users.dave);
    const direct = await readDirect();
    expect(direct[users.bob.userId]).toEqual(["!bob-room:localhost"]);
    expect(direct["@eve:elsewhere.example"]).toHaveLength(1001);
    expect(direct[users.dave.userId]).toEqual([room]);
  });

  it("leaves a direct chat the user declined, and makes at most 3 new ones per user before waiting", async () => {
    const alice = new BotClient(synapse.baseUrl, users.alice.accessToken);
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const room = await press(users.alice);
      if (room === undefined || created.includes(room)) break;
      created.push(room);
      // Alice declines the invite.
      await alice.leaveRoom(room);
    }
    expect(created).toHaveLength(3);
    // The bot left every declined chat (the last one on the press that found it abandoned).
    const joined = await botClient.getJoinedRooms();
    for (const room of created) expect(joined).not.toContain(room);
    expect((await readDirect())[users.alice.userId] ?? []).toEqual([]);
  });

  it("rings a user who joins between its read of the members and its read of their membership", async () => {
    const daveClient = new BotClient(synapse.baseUrl, users.dave.accessToken);
    // Dave accepts the invite just as the bot looks: after the joined members were read, before his membership is.
    const readState = botClient.getRoomStateEvent.bind(botClient);
    let joinedBetween = 0;
    botClient.getRoomStateEvent = async (roomId: string, type: string, stateKey: string) => {
      if (type === "m.room.member" && stateKey === users.dave.userId && joinedBetween === 0) {
        joinedBetween++;
        await daveClient.joinRoom(roomId);
      }
      return readState(roomId, type, stateKey) as Promise<never>;
    };
    try {
      // Not attached to a syncing client: no join event comes, only the reads decide (the poll would take 5 s).
      const room = await dms.roomFor(users.dave.userId, Date.now() + 4_000);
      expect(joinedBetween).toBe(1);
      expect(room).toMatch(/^!/);
      expect(await botClient.getJoinedRoomMembers(room ?? "")).toContain(users.dave.userId);
    } finally {
      botClient.getRoomStateEvent = readState;
    }
  });

  it("drops a direct chat the bot is no longer in from m.direct (it left the room once bob had left)", async () => {
    const bobClient = new BotClient(synapse.baseUrl, users.bob.accessToken);
    const first = await press(users.bob);
    if (first === undefined) throw new Error("no direct chat was made for bob");
    await bobClient.joinRoom(first);
    await bobClient.leaveRoom(first);
    // What alone-rooms.ts does once bob is gone.
    await botClient.leaveRoom(first);
    const second = await press(users.bob);
    expect(second).toMatch(/^!/);
    expect(second).not.toBe(first);
    // The first room and the made-up one an earlier test listed for bob are both gone from his entry.
    expect((await readDirect())[users.bob.userId]).toEqual([second]);
  });
});
