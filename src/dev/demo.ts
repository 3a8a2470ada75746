/**
 * The embedded default: a working bot with no configuration written by anyone. A local Synapse (kept under
 * data/demo/ between runs), a bot account and a person's account on it, a `demo` camera (ffmpeg's test pattern
 * with the local time and a beep), the app itself, and a direct chat between the person and the bot.
 * src/demo-main.ts is the command line around it; tests call runDemo() directly.
 *
 * This file owns the run: the order of the steps, the demo's configuration, and stopping what started when a later
 * step fails. The saved state is demo-state.ts, the one-time Synapse setup demo-synapse.ts, the accounts
 * demo-accounts.ts, the direct chat demo-chat.ts.
 */
import { chmodSync, existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { startApp, type App } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import { isRoot, startLocalSynapse, synapseRoot, type LocalSynapse } from "./local-synapse.ts";
import { ensureDirectChat, setDisplayName } from "./demo-chat.ts";
import { DEVICE_NAME, ensureAccount } from "./demo-accounts.ts";
import { DemoError, readState, STATE_FILE, writeState, type DemoState } from "./demo-state.ts";
import { ensureSynapseRoot, notRootMessage } from "./demo-synapse.ts";

export { DemoError, readDemoState } from "./demo-state.ts";
export { EXISTING_HOMESERVER_HINT } from "./demo-synapse.ts";

export const DEMO_PORT = 8008;
export const DEMO_CAMERA = "demo";
const BOT_LOCALPART = "camerabot";
const USER_LOCALPART = "demo";
const BOT_DISPLAY_NAME = "Camera bot";

export interface DemoOptions {
  /** The homeserver's port on 127.0.0.1; default 8008, or a free port when 8008 is taken. */
  port?: number;
  /** Where everything is kept between runs; default ./data/demo. */
  dataDir?: string;
  log?: Logger;
  /** Progress meant for the person (the one-time Synapse setup); default: the log. */
  say?: (text: string) => void;
}

export interface DemoUser {
  userId: string;
  password: string;
  accessToken: string;
  deviceId: string;
}

export interface Demo {
  app: App;
  /** http://127.0.0.1:<port> */
  homeserverUrl: string;
  /** The person's account (log in with it in any Matrix client). */
  user: DemoUser;
  /** The direct chat between the person and the bot. */
  roomId: string;
  botUserId: string;
  cameraName: string;
  /** The absolute data directory. */
  dataDir: string;
  /** True when this run created the homeserver, the accounts and the chat. */
  firstRun: boolean;
  synapse: LocalSynapse;
  /** Stops the app, then Synapse. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the demo: Synapse (set up the first time), the accounts, the app with the demo camera, the direct chat.
 * Everything started is stopped again when a later step fails.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<Demo> {
  const log = opts.log ?? createLogger();
  const say =
    opts.say ??
    ((text: string) => {
      log.info(text);
    });
  const dataDir = path.resolve(opts.dataDir ?? path.join("data", "demo"));
  const started = Date.now();
  if (!isRoot()) throw new DemoError(notRootMessage(synapseRoot()));
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const stateFile = path.join(dataDir, STATE_FILE);
  const saved = readState(stateFile);

  const root = await ensureSynapseRoot(dataDir, say);
  const synapse = await startLocalSynapse({
    root,
    dataDir: path.join(dataDir, "synapse"),
    port: opts.port ?? DEMO_PORT,
    portFallback: opts.port === undefined,
    log: log.child({ component: "synapse" }),
  });
  let app: App | undefined;
  try {
    const bot = await ensureAccount(synapse, BOT_LOCALPART, saved?.bot, log);
    const user = await ensureAccount(synapse, USER_LOCALPART, saved?.user, log);
    const botDir = path.join(dataDir, "bot");
    if (bot.renewed && existsSync(botDir)) {
      // The sync position and the encryption store belong to the bot's previous session.
      await rm(botDir, { recursive: true, force: true });
    }
    if (bot.registered) {
      await setDisplayName(synapse.baseUrl, bot.account, BOT_DISPLAY_NAME);
    }
    const state: DemoState = { version: 1, bot: bot.account, user: user.account };
    if (saved?.roomId !== undefined) state.roomId = saved.roomId;
    writeState(stateFile, state);

    const config = parseConfig(
      {
        homeserver: { url: synapse.baseUrl, accessToken: bot.account.accessToken, deviceName: DEVICE_NAME },
        allowedUsers: [user.account.userId],
        cameras: [
          {
            name: DEMO_CAMERA,
            url: "demo://clock",
            description: "test picture with the local time and a beep (no hardware needed)",
            maxWidth: 1280,
            maxHeight: 720,
            maxFps: 25,
          },
        ],
        dataDir: botDir,
        logLevel: "info",
      },
      { env: {}, baseDir: dataDir, file: "(demo configuration)" },
    );
    app = await startApp(config, { log });

    const roomId = await ensureDirectChat(synapse.baseUrl, user.account, bot.account.userId, saved?.roomId, log);
    if (roomId !== saved?.roomId) writeState(stateFile, { ...state, roomId });

    const running = app;
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        try {
          await running.stop();
        } finally {
          await synapse.stop();
        }
      })();
      return stopping;
    };
    log.info({ ms: Date.now() - started, homeserver: synapse.baseUrl, user: user.account.userId, room: roomId }, "demo ready");
    return {
      app: running,
      homeserverUrl: synapse.baseUrl,
      user: { ...user.account },
      roomId,
      botUserId: bot.account.userId,
      cameraName: DEMO_CAMERA,
      dataDir,
      firstRun: saved === undefined,
      synapse,
      stop,
    };
  } catch (err: unknown) {
    try {
      await app?.stop();
    } finally {
      await synapse.stop();
    }
    throw err;
  }
}
