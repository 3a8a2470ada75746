/**
 * The embedded default: a working bot with no configuration written by anyone. A local Synapse (kept under
 * data/demo/ between runs), a bot account and a person's account on it, a `demo` camera (ffmpeg's test pattern
 * with the local time and a beep), the app itself, and a direct chat between the person and the bot.
 * src/demo-main.ts is the command line around it; tests call runDemo() directly.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { startApp, type App } from "../app.ts";
import { parseConfig } from "../config/load.ts";
import { createLogger, type Logger } from "../util/logger.ts";
import {
  DEFAULT_SYNAPSE_ROOT,
  isRoot,
  isSynapseRootProvisioned,
  startLocalSynapse,
  synapseRoot,
  type LocalSynapse,
} from "./local-synapse.ts";
import { ensureDirectChat, setDisplayName } from "./demo-chat.ts";
import { isErrcode, passwordLogin, whoami } from "./matrix-http.ts";

export const DEMO_PORT = 8008;
export const DEMO_CAMERA = "demo";
const BOT_LOCALPART = "camerabot";
const USER_LOCALPART = "demo";
const BOT_DISPLAY_NAME = "Camera bot";
const DEVICE_NAME = "matrix-camera-call demo";

/** A problem the person can fix; the message says how. */
export class DemoError extends Error {
  override name = "DemoError";
}

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

const accountSchema = z.object({
  userId: z.string(),
  password: z.string().min(1),
  accessToken: z.string(),
  deviceId: z.string(),
});
type Account = z.infer<typeof accountSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  bot: accountSchema,
  user: accountSchema,
  roomId: z.string().optional(),
});
type DemoState = z.infer<typeof stateSchema>;

const STATE_FILE = "demo-state.json";

/** What to do when the local homeserver cannot be had: use an existing one through config/config.yaml. */
export const EXISTING_HOMESERVER_HINT = [
  "To use an existing homeserver instead: create an account for the bot there, copy",
  "config/config.example.yaml to config/config.yaml, set homeserver.url, the bot's access token",
  "(or user and password), allowedUsers and cameras (keep the `demo://clock` camera to try it",
  "without hardware), then run `npm start`.",
].join("\n");

function readState(file: string): DemoState | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err: unknown) {
    throw new DemoError(`${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}): delete ${path.dirname(file)} to start over`);
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success) throw new DemoError(`${file} is not a demo state this version understands: delete ${path.dirname(file)} to start over`);
  return parsed.data;
}

/** Written whole (temporary file, then rename), readable by the owner only: it holds passwords and tokens. */
function writeState(file: string, state: DemoState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Typable in a login form; 16 characters, about 96 bits. */
function generatePassword(): string {
  return randomBytes(12).toString("base64url");
}

function runScript(script: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile("bash", [script, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      writeFileSync(logFile, `${stdout}${stderr}`);
      if (err) reject(new Error(`${path.basename(script)} failed (${err.message.split("\n")[0] ?? ""}); its output is in ${logFile}:\n${stderr.trimEnd().split("\n").slice(-15).join("\n")}`));
      else resolve();
    });
    child.stdin?.end();
  });
}

function notRootMessage(root: string): string {
  return [
    isSynapseRootProvisioned(root)
      ? `The demo runs a local Matrix homeserver (Synapse) in the chroot ${root}, which needs root`
      : `The demo runs a local Matrix homeserver (Synapse) in a chroot that is not set up yet (${root}); setting it up and running it need root`,
    "(chroot, and mounting /proc in it): run it as root, e.g. `sudo npm run demo`.",
    "",
    EXISTING_HOMESERVER_HINT,
  ].join("\n");
}

/** Makes sure the Synapse chroot exists (building it the first time), and that we may use it. */
async function ensureSynapseRoot(dataDir: string, say: (text: string) => void): Promise<string> {
  const root = synapseRoot();
  if (!isRoot()) throw new DemoError(notRootMessage(root));
  if (isSynapseRootProvisioned(root)) return root;
  const script = fileURLToPath(new URL("../../scripts/provision-synapse-root.sh", import.meta.url));
  const logFile = path.join(dataDir, "provision.log");
  say(
    [
      `Setting up the local Matrix homeserver (Synapse) in ${root}.`,
      "This happens once and takes about 2 minutes: it needs root, network access and debootstrap",
      `(installed with apt-get when missing). Progress goes to ${logFile}.`,
    ].join("\n"),
  );
  const t0 = Date.now();
  try {
    await runScript(script, root === DEFAULT_SYNAPSE_ROOT ? [] : [root], logFile);
  } catch (err: unknown) {
    throw new DemoError(
      [`Could not set up Synapse: ${err instanceof Error ? err.message : String(err)}`, "", EXISTING_HOMESERVER_HINT].join("\n"),
    );
  }
  if (!isSynapseRootProvisioned(root)) throw new DemoError(`Setting up Synapse finished but ${root} is still not ready; see ${logFile}.\n\n${EXISTING_HOMESERVER_HINT}`);
  say(`Synapse is set up (${Math.round((Date.now() - t0) / 1000)} s).`);
  return root;
}

/**
 * An account that can be used now: the saved token if the homeserver still knows it, else a password login,
 * else (a new homeserver database) the account registered again with the saved password.
 */
async function ensureAccount(
  synapse: LocalSynapse,
  localpart: string,
  saved: Account | undefined,
  log: Logger,
): Promise<{ account: Account; renewed: boolean; registered: boolean }> {
  const url = synapse.baseUrl;
  if (saved !== undefined) {
    const who = await whoami(url, saved.accessToken);
    if (who?.userId === saved.userId) return { account: saved, renewed: false, registered: false };
    try {
      const login = await passwordLogin(url, saved.userId, saved.password, DEVICE_NAME);
      log.info({ userId: saved.userId }, "demo: the saved token is no longer valid; logged in again");
      return { account: { ...saved, accessToken: login.accessToken, deviceId: login.deviceId }, renewed: true, registered: false };
    } catch (err: unknown) {
      if (!isErrcode(err, "M_FORBIDDEN")) throw err;
    }
  }
  const password = saved?.password ?? generatePassword();
  let userId: string;
  try {
    userId = (await synapse.register(localpart, { password })).userId;
  } catch (err: unknown) {
    if (isErrcode(err, "M_USER_IN_USE")) {
      throw new DemoError(
        `@${localpart}:${synapse.serverName} already exists on the homeserver in ${synapse.dataDir}, but its password is not saved ` +
          `in ${STATE_FILE}: delete ${path.dirname(synapse.dataDir)} to start over`,
      );
    }
    throw err;
  }
  const login = await passwordLogin(url, userId, password, DEVICE_NAME);
  log.info({ userId }, "demo: account registered");
  return { account: { userId, password, accessToken: login.accessToken, deviceId: login.deviceId }, renewed: true, registered: true };
}

/**
 * Starts the demo: Synapse (set up the first time), the accounts, the app with the demo camera, the direct chat.
 * Everything started is stopped again when a later step fails.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<Demo> {
  const log = opts.log ?? createLogger();
  const say = opts.say ?? ((text: string) => { log.info(text); });
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

/** The demo's state file, for tests and tools: the saved accounts and chat. */
export async function readDemoState(dataDir: string): Promise<DemoState> {
  return stateSchema.parse(JSON.parse(await readFile(path.join(path.resolve(dataDir), STATE_FILE), "utf8")));
}
