/**
 * Against a real Synapse: the bot logs in once with user and password, keeps the token and device in
 * dataDir (owner-only), and reuses them on the next start; it maps the homeserver's TURN answer
 * (Synapse with turn_uris and a shared secret) to ICE servers, and `{}` to none.
 */
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startApp } from "../../src/app.ts";
import { parseConfig } from "../../src/config/load.ts";
import { startSynapse, type SynapseHandle } from "../harness/synapse.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

let withTurn: SynapseHandle;
let withoutTurn: SynapseHandle;
const quiet = pino({ level: "silent" });

const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  withTurn = await startSynapse({
    turn: { uris: ["turn:127.0.0.1:3478?transport=udp"], sharedSecret: "turn-test-secret", userLifetimeMs: 3_600_000 },
  });
  cleanups.push(() => withTurn.stop());
  withoutTurn = await startSynapse();
  cleanups.push(() => withoutTurn.stop());
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function configFor(hs: SynapseHandle, dataDir: string, auth: Record<string, string>): ReturnType<typeof parseConfig> {
  return parseConfig({
    homeserver: { url: hs.baseUrl, ...auth },
    allowedUsers: ["@alice:localhost"],
    cameras: [{ name: "demo", url: "demo://clock" }],
    dataDir,
  });
}

describeE2E("login and TURN against Synapse", () => {
  it("logs in once with a password and reuses the saved token and device", async () => {
    const user = await withTurn.registerUser("pwbot", { password: "correct horse battery staple" });
    const dataDir = mkdtempSync(path.join(tmpdir(), "mcc-login-"));
    const config = configFor(withTurn, dataDir, { user: user.userId, password: user.password });

    const first = await startApp(config, { log: quiet });
    const firstDevice = first.matrix.deviceId;
    await first.stop();
    expect(first.matrix.userId).toBe(user.userId);
    expect(firstDevice).toBeTruthy();

    const saved = path.join(dataDir, "login.json");
    expect(statSync(saved).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(saved, "utf8"))).toMatchObject({ userId: user.userId, deviceId: firstDevice });

    const second = await startApp(config, { log: quiet });
    await second.stop();
    expect(second.matrix.deviceId).toBe(firstDevice);
  });

  it("takes ICE servers from the homeserver's TURN endpoint", async () => {
    const bot = await withTurn.registerUser("turnbot");
    const app = await startApp(configFor(withTurn, mkdtempSync(path.join(tmpdir(), "mcc-turn-")), { accessToken: bot.accessToken }), {
      log: quiet,
    });
    try {
      const servers = await app.turn.iceServers();
      expect(servers).toHaveLength(1);
      expect(servers[0]?.urls).toEqual(["turn:127.0.0.1:3478?transport=udp"]);
      expect(servers[0]?.username).toMatch(/^\d+:@turnbot:localhost$/);
      expect(typeof servers[0]?.credential).toBe("string");
    } finally {
      await app.stop();
    }
  });

  it("calls without TURN when the homeserver has none", async () => {
    const bot = await withoutTurn.registerUser("noturnbot");
    const app = await startApp(configFor(withoutTurn, mkdtempSync(path.join(tmpdir(), "mcc-noturn-")), { accessToken: bot.accessToken }), {
      log: quiet,
    });
    try {
      expect(await app.turn.iceServers()).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});
