/**
 * A real Synapse homeserver on 127.0.0.1 for end-to-end tests.
 *
 * Synapse runs from the Debian chroot that scripts/provision-synapse-root.sh builds (SYNAPSE_ROOT, default
 * /var/cache/matrix-camera-call/synapse-root). Each startSynapse() gets a fresh data directory inside the chroot, a
 * free port, sqlite, a client-only listener and rate limits high enough that tests never see a 429.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { harnessLog } from "./log.ts";
import { waitFor } from "./wait.ts";

const execFileAsync = promisify(execFile);

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
  localpart: string;
}

export interface SynapseHandle {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** The server name, "localhost". */
  serverName: string;
  registerUser(localpart: string, opts?: { password?: string; admin?: boolean }): Promise<RegisteredUser>;
  /** Stops and starts the same server (same data); resolves when /_matrix/client/versions answers again. */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; removes the data directory; idempotent. */
  stop(): Promise<void>;
  /** Synapse's stdout and stderr (outside the repository); kept after stop(). */
  logPath: string;
}

export interface StartSynapseOptions {
  turn?: { uris: string[]; sharedSecret: string; userLifetimeMs?: number };
}

const DEFAULT_ROOT = "/var/cache/matrix-camera-call/synapse-root";
const SERVER_NAME = "localhost";
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

/** The provisioned chroot that holds Synapse. */
export function synapseRoot(): string {
  return process.env["SYNAPSE_ROOT"] ?? DEFAULT_ROOT;
}

/** Children still running, killed if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("could not read the port of a probe socket"));
        return;
      }
      const port = address.port;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function ensureProcMounted(root: string): Promise<void> {
  const proc = join(root, "proc");
  try {
    await execFileAsync("mountpoint", ["-q", proc]);
  } catch {
    await mkdir(proc, { recursive: true });
    await execFileAsync("mount", ["-t", "proc", "proc", proc]);
  }
}

const RATE_LIMIT = { per_second: 1000, burst_count: 1000 };

/** Synapse's Python logging config: everything at INFO to stderr, which goes to logPath. */
const LOG_CONFIG = {
  version: 1,
  formatters: {
    precise: { format: "%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s" },
  },
  handlers: {
    console: { class: "logging.StreamHandler", formatter: "precise", stream: "ext://sys.stderr" },
  },
  loggers: { "synapse.storage.SQL": { level: "INFO" } },
  root: { level: "INFO", handlers: ["console"] },
  disable_existing_loggers: false,
};

function patchConfig(
  config: Record<string, unknown>,
  params: { port: number; dataDir: string; sharedSecret: string; turn: StartSynapseOptions["turn"] },
): Record<string, unknown> {
  const patched: Record<string, unknown> = {
    ...config,
    listeners: [
      {
        port: params.port,
        bind_addresses: ["127.0.0.1"],
        type: "http",
        tls: false,
        x_forwarded: false,
        resources: [{ names: ["client"], compress: false }],
      },
    ],
    database: { name: "sqlite3", args: { database: `${params.dataDir}/homeserver.db` } },
    log_config: `${params.dataDir}/log.config`,
    report_stats: false,
    registration_shared_secret: params.sharedSecret,
    enable_registration: false,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    presence: { enabled: false },
    url_preview_enabled: false,
    rc_message: RATE_LIMIT,
    rc_registration: RATE_LIMIT,
    rc_registration_token_validity: RATE_LIMIT,
    rc_login: { address: RATE_LIMIT, account: RATE_LIMIT, failed_attempts: RATE_LIMIT },
    rc_admin_redaction: RATE_LIMIT,
    rc_joins: { local: RATE_LIMIT, remote: RATE_LIMIT },
    rc_joins_per_room: RATE_LIMIT,
    rc_3pid_validation: RATE_LIMIT,
    rc_invites: { per_room: RATE_LIMIT, per_user: RATE_LIMIT, per_issuer: RATE_LIMIT },
    rc_third_party_invite: RATE_LIMIT,
    rc_media_create: RATE_LIMIT,
    rc_presence: { per_user: RATE_LIMIT },
    rc_delayed_event_mgmt: RATE_LIMIT,
    rc_room_creation: RATE_LIMIT,
    rc_reports: RATE_LIMIT,
    rc_user_directory: RATE_LIMIT,
    rc_key_requests: RATE_LIMIT,
  };
  if (params.turn !== undefined) {
    patched["turn_uris"] = params.turn.uris;
    patched["turn_shared_secret"] = params.turn.sharedSecret;
    patched["turn_user_lifetime"] = params.turn.userLifetimeMs ?? 86_400_000;
    patched["turn_allow_guests"] = true;
  }
  return patched;
}

async function tail(path: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    return text.split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

async function postJson(url: string, body: unknown, what: string): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${what} failed: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

function stringField(obj: Record<string, unknown>, key: string, what: string): string {
  const value = obj[key];
  if (typeof value !== "string") throw new Error(`${what}: response has no string "${key}": ${JSON.stringify(obj)}`);
  return value;
}

export async function startSynapse(opts: StartSynapseOptions = {}): Promise<SynapseHandle> {
  const root = synapseRoot();
  if (!existsSync(join(root, ".provisioned"))) {
    throw new Error(
      `Synapse chroot ${root} is not provisioned (no ${join(root, ".provisioned")}); ` +
        "run scripts/provision-synapse-root.sh (as root) or set SYNAPSE_ROOT",
    );
  }
  const started = Date.now();
  installExitHook();
  await ensureProcMounted(root);

  const id = randomBytes(6).toString("hex");
  const dataDir = `/tmp/mcc-synapse-${id}`; // path inside the chroot
  const hostDataDir = join(root, dataDir);
  await mkdir(join(root, "tmp"), { recursive: true });
  await chmod(join(root, "tmp"), 0o1777);
  await mkdir(hostDataDir, { recursive: true });
  const logPath = join(tmpdir(), `mcc-synapse-${id}.log`);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const sharedSecret = randomBytes(24).toString("hex");
  const configPath = `${dataDir}/homeserver.yaml`;

  await execFileAsync("chroot", [
    root,
    "python3",
    "-m",
    "synapse.app.homeserver",
    "--server-name",
    SERVER_NAME,
    "--config-path",
    configPath,
    "--generate-config",
    "--report-stats=no",
    "--data-directory",
    dataDir,
  ]);
  const generated = YAML.parse(await readFile(join(root, configPath), "utf8")) as Record<string, unknown>;
  const config = patchConfig(generated, { port, dataDir, sharedSecret, turn: opts.turn });
  await writeFile(join(root, configPath), YAML.stringify(config));
  await writeFile(join(hostDataDir, "log.config"), YAML.stringify(LOG_CONFIG));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;

  const launch = async (): Promise<void> => {
    const log = await open(logPath, "a");
    let proc: ChildProcess;
    try {
      proc = spawn("chroot", [root, "python3", "-m", "synapse.app.homeserver", "--config-path", configPath], {
        stdio: ["ignore", log.fd, log.fd],
        env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root" },
      });
    } finally {
      await log.close();
    }
    child = proc;
    running.add(proc);
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once("exit", (code, signal) => {
        hasExited = true;
        running.delete(proc);
        harnessLog.debug({ code, signal, baseUrl }, "synapse exited");
        resolve();
      });
    });
    const outcome = await waitFor(
      "Synapse to answer /_matrix/client/versions",
      async () => {
        if (hasExited) return "exited";
        const res = await fetch(`${baseUrl}/_matrix/client/versions`);
        return res.ok ? "up" : false;
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 100 },
    ).catch(async (err: unknown) => {
      proc.kill("SIGKILL");
      throw new Error(`${err instanceof Error ? err.message : String(err)}; log ${logPath}:\n${await tail(logPath)}`);
    });
    if (outcome === "exited") {
      throw new Error(`Synapse exited during startup (code ${String(proc.exitCode)}); log ${logPath}:\n${await tail(logPath)}`);
    }
  };

  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
  };

  await launch();
  harnessLog.info({ baseUrl, ms: Date.now() - started, logPath }, "synapse started");

  const handle: SynapseHandle = {
    baseUrl,
    serverName: SERVER_NAME,
    logPath,
    async registerUser(localpart, userOpts = {}) {
      const password = userOpts.password ?? randomBytes(12).toString("hex");
      const admin = userOpts.admin ?? false;
      const url = `${baseUrl}/_synapse/admin/v1/register`;
      const nonceRes = await fetch(url);
      const nonceJson = (await nonceRes.json()) as Record<string, unknown>;
      const nonce = stringField(nonceJson, "nonce", "register nonce");
      const mac = createHmac("sha1", sharedSecret)
        .update(`${nonce}\0${localpart}\0${password}\0${admin ? "admin" : "notadmin"}`)
        .digest("hex");
      const registered = await postJson(url, { nonce, username: localpart, password, admin, mac }, `register ${localpart}`);
      const userId = stringField(registered, "user_id", "register");
      const login = await postJson(
        `${baseUrl}/_matrix/client/v3/login`,
        {
          type: "m.login.password",
          identifier: { type: "m.id.user", user: localpart },
          password,
          initial_device_display_name: "matrix-camera-call test",
        },
        `login ${localpart}`,
      );
      return {
        userId,
        localpart,
        password,
        accessToken: stringField(login, "access_token", "login"),
        deviceId: stringField(login, "device_id", "login"),
      };
    },
    async restart() {
      if (stopped) throw new Error("restart() after stop()");
      const t0 = Date.now();
      await kill();
      await launch();
      harnessLog.info({ baseUrl, ms: Date.now() - t0 }, "synapse restarted");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      if (process.env["KEEP_SYNAPSE_DATA"] === undefined) {
        await rm(hostDataDir, { recursive: true, force: true });
      }
    },
  };
  return handle;
}
