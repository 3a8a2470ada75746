/**
 * The start-up check against a real Synapse and the bot in-process (startApp): rooms whose last other member left
 * while the bot was not running are left once the first sync is in; a room with a member still invited (a doorbell's
 * new direct chat) or joined is kept.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import type { MatrixClient } from "matrix-bot-sdk";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config/load.ts";
import { loadBotSdk } from "../../src/matrix/sdk.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { startSynapse, type SynapseHandle } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

const { MatrixClient: BotClient } = loadBotSdk().sdk;
let synapse: SynapseHandle;

beforeAll(async () => {
  synapse = await startSynapse();
}, 120_000);

afterAll(async () => {
  await synapse.stop();
});

/** A room the bot's account creates, with these users invited. */
async function roomOf(bot: MatrixClient, invite: string[]): Promise<string> {
  return bot.createRoom({ preset: "private_chat", is_direct: true, invite });
}

describeE2E("the start-up check of the bot's rooms", () => {
  it("leaves the rooms nobody else is in any more, and keeps those with a member joined or invited", async () => {
    const bot = await synapse.registerUser("sweepbot");
    const alice = await synapse.registerUser("sweepalice");
    const bob = await synapse.registerUser("sweepbob");
    const botClient = new BotClient(synapse.baseUrl, bot.accessToken);
    const aliceClient = new BotClient(synapse.baseUrl, alice.accessToken);
    const bobClient = new BotClient(synapse.baseUrl, bob.accessToken);

    // Before the bot runs: alice left her direct chat, bob declined his invite; carol's room never had anyone else.
    const aliceLeft = await roomOf(botClient, [alice.userId]);
    await aliceClient.joinRoom(aliceLeft);
    await aliceClient.leaveRoom(aliceLeft);
    const bobDeclined = await roomOf(botClient, [bob.userId]);
    await bobClient.leaveRoom(bobDeclined);
    await roomOf(botClient, []);
    // Kept: alice is still in one room, bob still invited to another.
    const aliceStays = await roomOf(botClient, [alice.userId]);
    await aliceClient.joinRoom(aliceStays);
    const bobInvited = await roomOf(botClient, [bob.userId]);

    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const config = parseConfig({
      homeserver: { url: synapse.baseUrl, accessToken: bot.accessToken },
      allowedUsers: [alice.userId, bob.userId],
      cameras: [{ name: "demo", url: "demo://clock" }],
      dataDir: mkdtempSync(path.join(tmpdir(), "mcc-sweep-")),
    });
    const app = await startApp(config, { log: pino({ level: "info" }, sink) });
    try {
      const done = await waitFor("the start-up check to end", () => lines.find((l) => l.includes("start-up check of the rooms")), {
        timeoutMs: 60_000,
      });
      expect(JSON.parse(done)).toMatchObject({ rooms: 5, left: 3 });
      // The three rooms nobody else was in are gone; the other two are kept.
      const joined = await botClient.getJoinedRooms();
      expect(joined.sort()).toEqual([aliceStays, bobInvited].sort());
    } finally {
      await app.stop();
    }
  }, 120_000);
});
