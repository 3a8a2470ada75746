import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { MatrixClient } from "matrix-bot-sdk";
import { z } from "zod";
import type { Config } from "../config/load.ts";
import { addSecret, redactSecrets, redactUrl, type Logger } from "../util/logger.ts";
import { quickSyncClient, SyncStatus } from "./quick-sync.ts";
import { loadBotSdk } from "./sdk.ts";

export interface MatrixConnection {
  client: MatrixClient;
  userId: string;
  deviceId: string | undefined;
  /** Whether end-to-end encryption is on (the native crypto library was found). */
  encryption: boolean;
  /** How syncing goes: the first sync's outcome, and since when the homeserver has been unreachable. */
  sync: SyncStatus;
}

const savedLoginSchema = z.object({
  homeserver: z.string(),
  userId: z.string(),
  accessToken: z.string(),
  deviceId: z.string().optional(),
});
type SavedLogin = z.infer<typeof savedLoginSchema>;

function loginFile(dataDir: string): string {
  return path.join(dataDir, "login.json");
}

function readSavedLogin(dataDir: string, log: Logger): SavedLogin | undefined {
  const file = loginFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = savedLoginSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
    if (parsed.success) return parsed.data;
    log.warn({ file }, "the saved login is malformed; logging in again");
  } catch (err: unknown) {
    log.warn({ file, err: String(err) }, "cannot read the saved login; logging in again");
  }
  return undefined;
}

function saveLogin(dataDir: string, login: SavedLogin): void {
  const file = loginFile(dataDir);
  writeFileSync(file, JSON.stringify(login, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
}

function describe(part: unknown): string {
  if (typeof part === "string") return part;
  if (part instanceof Error) return part.message;
  // JSON.stringify gives undefined for undefined and functions, though its type says string.
  const json = JSON.stringify(part) as string | undefined;
  return typeof json === "string" ? json : String(part);
}

/** Routes matrix-bot-sdk's own log lines into pino, with the access token and URL credentials removed. */
function bridgeSdkLogs(log: Logger, secrets: () => string[], verbose: boolean): void {
  const { sdk } = loadBotSdk();
  const sdkLog = log.child({ component: "matrix-bot-sdk" });
  const text = (module: string, parts: unknown[]): string => {
    let out = `${module}: ${parts.map(describe).join(" ")}`;
    for (const secret of secrets()) if (secret.length >= 8) out = out.split(secret).join("[redacted]");
    return redactSecrets(out);
  };
  sdk.LogService.setLogger({
    trace: (m: string, ...p: unknown[]) => {
      sdkLog.trace(text(m, p));
    },
    debug: (m: string, ...p: unknown[]) => {
      sdkLog.debug(text(m, p));
    },
    info: (m: string, ...p: unknown[]) => {
      sdkLog.info(text(m, p));
    },
    warn: (m: string, ...p: unknown[]) => {
      sdkLog.warn(text(m, p));
    },
    error: (m: string, ...p: unknown[]) => {
      sdkLog.error(text(m, p));
    },
  });
  sdk.LogService.setLevel(verbose ? sdk.LogLevel.DEBUG : sdk.LogLevel.WARN);
  sdk.LogService.muteModule("Metrics");
}

/**
 * Whether `url` is plain http:// to a host other than this machine: the access token (and a password) would cross
 * the network in cleartext. Loopback (localhost, 127.0.0.0/8, ::1) is the usual local-homeserver or TLS-proxy setup.
 */
export function cleartextToRemote(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== "http:") return false;
  const host = parsed.hostname.toLowerCase();
  const loopback = host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "[::1]";
  return !loopback;
}

/**
 * Connects to the homeserver: with the configured access token, or with the login saved in
 * dataDir, or by logging in once with user and password (then the token and device are saved).
 */
export async function connectMatrix(config: Config, log: Logger): Promise<MatrixConnection> {
  const { sdk, cryptoAvailable, cryptoError } = loadBotSdk();
  const hs = config.homeserver;
  if (cleartextToRemote(hs.url)) {
    log.warn(
      { homeserver: redactUrl(hs.url) },
      "homeserver.url is http:// to another machine: the access token crosses the network in cleartext; use https://",
    );
  }
  mkdirSync(config.dataDir, { recursive: true });
  let token = hs.accessToken;
  bridgeSdkLogs(log, () => [token ?? "", hs.password ?? ""], config.logLevel === "debug" || config.logLevel === "trace");

  if (token === undefined) {
    const saved = readSavedLogin(config.dataDir, log);
    if (saved && saved.homeserver === hs.url && saved.userId === hs.user) {
      token = saved.accessToken;
      log.info({ userId: saved.userId }, "using the saved login");
    } else {
      if (hs.user === undefined || hs.password === undefined) throw new Error("no access token and no user/password to log in with");
      log.info({ userId: hs.user }, "logging in with the password (once; the token is kept in dataDir)");
      const loggedIn = await new sdk.MatrixAuth(hs.url).passwordLogin(hs.user, hs.password, hs.deviceName);
      token = loggedIn.accessToken;
      const who = await loggedIn.getWhoAmI();
      const login: SavedLogin = { homeserver: hs.url, userId: who.user_id, accessToken: token };
      if (who.device_id !== undefined) login.deviceId = who.device_id;
      saveLogin(config.dataDir, login);
    }
  }

  // A saved or freshly issued token is a secret the configuration did not know: redacted by value from now on.
  addSecret(token);
  const storage = new sdk.SimpleFsStorageProvider(path.join(config.dataDir, "bot-state.json"));
  // StoreType is a const enum of a package that may be the stand-in; its only member, Sqlite, is 0.
  const cryptoDir = path.join(config.dataDir, "crypto");
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  const crypto = cryptoAvailable ? new sdk.RustSdkCryptoStorageProvider(cryptoDir, 0) : undefined;
  const sync = new SyncStatus();
  const Client = quickSyncClient(sdk.MatrixClient, log.child({ component: "sync" }), sync);
  const client = new Client(hs.url, token, storage, crypto);
  const who = await client.getWhoAmI();
  if (cryptoAvailable) {
    log.info("end-to-end encryption library found: encrypted rooms are supported");
  } else {
    log.warn(
      { reason: cryptoError },
      "end-to-end encryption is unavailable (native library missing): use unencrypted direct chats with the bot",
    );
  }
  return { client, userId: who.user_id, deviceId: who.device_id, encryption: cryptoAvailable, sync };
}
