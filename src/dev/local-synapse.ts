/**
 * A real Synapse homeserver on 127.0.0.1, for the demo (persistent data) and the end-to-end tests (temporary data).
 *
 * Synapse runs from the Debian chroot that scripts/provision-synapse-root.sh builds (SYNAPSE_ROOT, default
 * /var/cache/matrix-camera-call/synapse-root), which needs root (chroot, and mounting /proc in it). Server name
 * "localhost", sqlite, one client-only listener on 127.0.0.1, registration only through the shared-secret admin API,
 * and rate limits high enough that a test or a demo never sees a 429.
 *
 * Data:
 * - temporary (no `dataDir`): a fresh directory inside the chroot, removed by stop();
 * - persistent (`dataDir`, a host path): kept between runs. Synapse sees it through a bind mount made in a private
 *   mount namespace (`unshare --mount`), so the mount disappears with the process and nothing is left mounted.
 *   The config is generated on the first start (signing key, secrets) and only its listener is changed later.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import YAML from "yaml";
import { z } from "zod";
import type { Logger } from "../util/logger.ts";
import { matrixRequest, passwordLogin } from "./matrix-http.ts";
import { freePort, portIsFree } from "./ports.ts";
import { LOG_CONFIG, patchConfig, type SynapseTurn } from "./synapse-config.ts";

export { freePort } from "./ports.ts";

const execFileAsync = promisify(execFile);

export const DEFAULT_SYNAPSE_ROOT = "/var/cache/matrix-camera-call/synapse-root";
export const SERVER_NAME = "localhost";
/** Where a persistent data directory appears inside the chroot (in Synapse's own mount namespace only). */
const PERSISTENT_MOUNT = "/srv/mcc-synapse-data";
const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;
const CHILD_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root" };

/** Something the person must fix (no chroot, not root, already running); the message says what to do. */
export class LocalSynapseError extends Error {
  override name = "LocalSynapseError";
}

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
  localpart: string;
}

export interface LocalSynapseOptions {
  /** The provisioned chroot; default SYNAPSE_ROOT or /var/cache/matrix-camera-call/synapse-root. */
  root?: string;
  /** A host directory to keep the server's data in between runs; without it the data is temporary. */
  dataDir?: string;
  /** The port to listen on; default a free one. */
  port?: number;
  /** When `port` is taken, use a free port instead of failing. */
  portFallback?: boolean;
  /** Synapse's stdout and stderr; default `<dataDir>/synapse.log` when persistent, else a file in the OS temp dir. */
  logPath?: string;
  /** Keep a temporary data directory after stop() (for debugging a test). */
  keepData?: boolean;
  turn?: SynapseTurn;
  /** More homeserver.yaml settings, merged over the generated ones (e.g. served well-known content). */
  extraConfig?: Record<string, unknown>;
  log?: Logger;
}

export interface LocalSynapse {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  port: number;
  /** The server name, "localhost". */
  serverName: string;
  /** The data directory on the host. */
  dataDir: string;
  persistent: boolean;
  /** True when this start created the server's database (a new homeserver: no users, no rooms). */
  created: boolean;
  /** Synapse's stdout and stderr; kept after stop(). */
  logPath: string;
  /** Registers a user through the shared-secret admin API (no login, no device). */
  register(localpart: string, opts?: { password?: string; admin?: boolean }): Promise<{ userId: string; localpart: string; password: string }>;
  /** Registers a user, then logs in with the password (a new device). */
  registerUser(localpart: string, opts?: { password?: string; admin?: boolean; deviceName?: string }): Promise<RegisteredUser>;
  /** Stops and starts the same server (same data); resolves when /_matrix/client/versions answers again. */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; removes temporary data; idempotent. */
  stop(): Promise<void>;
  /** The Synapse process id while it runs. */
  pid(): number | undefined;
}

/** The provisioned chroot that holds Synapse. */
export function synapseRoot(): string {
  return process.env["SYNAPSE_ROOT"] ?? DEFAULT_SYNAPSE_ROOT;
}

export function isSynapseRootProvisioned(root: string = synapseRoot()): boolean {
  return existsSync(path.join(root, ".provisioned"));
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * Children still running, killed if the process exits without stopping them. Kept on globalThis: a test
 * runner may evaluate this module once per test file, and one set and one exit hook serve them all.
 */
const RUNNING = Symbol.for("matrix-camera-call.local-synapse.running");
const holder = globalThis as { [RUNNING]?: Set<ChildProcess> };
const running: Set<ChildProcess> = holder[RUNNING] ?? new Set<ChildProcess>();
function installExitHook(): void {
  if (holder[RUNNING] !== undefined) return;
  holder[RUNNING] = running;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

async function ensureProcMounted(root: string): Promise<void> {
  const proc = path.join(root, "proc");
  const mounted = await execFileAsync("mountpoint", ["-q", proc]).then(
    () => true,
    () => false,
  );
  if (mounted) return;
  await mkdir(proc, { recursive: true });
  await execFileAsync("mount", ["-t", "proc", "proc", proc]);
}

async function tail(file: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.split("\n").slice(-lines).join("\n");
  } catch (err: unknown) {
    return `(no log: ${err instanceof Error ? err.message : String(err)})`;
  }
}

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err: unknown) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError !== "" ? ` (last error: ${lastError})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const configFileSchema = z.record(z.string(), z.unknown());
const nonceSchema = z.object({ nonce: z.string() }).loose();
const registeredSchema = z.object({ user_id: z.string() }).loose();

/** True when `pid` is a live Synapse (a lock file left by a process that is gone does not count). */
function isLiveSynapse(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("synapse.app.homeserver");
  } catch {
    return false;
  }
}

export async function startLocalSynapse(opts: LocalSynapseOptions = {}): Promise<LocalSynapse> {
  const root = opts.root ?? synapseRoot();
  const log = opts.log;
  if (!isSynapseRootProvisioned(root)) {
    throw new LocalSynapseError(
      `the Synapse chroot ${root} is not provisioned (no ${path.join(root, ".provisioned")}): ` +
        "run scripts/provision-synapse-root.sh as root (or set SYNAPSE_ROOT)",
    );
  }
  if (!isRoot()) {
    throw new LocalSynapseError(`Synapse runs in the chroot ${root}, which needs root (chroot, and mounting /proc in it)`);
  }
  const started = Date.now();
  installExitHook();
  await ensureProcMounted(root);

  const persistent = opts.dataDir !== undefined;
  const id = randomBytes(6).toString("hex");
  let chrootDataDir: string;
  let hostDataDir: string;
  if (opts.dataDir !== undefined) {
    hostDataDir = path.resolve(opts.dataDir);
    chrootDataDir = PERSISTENT_MOUNT;
    await mkdir(path.join(root, chrootDataDir.slice(1)), { recursive: true });
  } else {
    chrootDataDir = `/tmp/mcc-synapse-${id}`;
    hostDataDir = path.join(root, chrootDataDir.slice(1));
    await mkdir(path.join(root, "tmp"), { recursive: true });
    await chmod(path.join(root, "tmp"), 0o1777);
  }
  await mkdir(hostDataDir, { recursive: true, mode: 0o700 });
  if (persistent) await chmod(hostDataDir, 0o700);

  const lockFile = path.join(hostDataDir, "local-synapse.pid");
  if (persistent && existsSync(lockFile)) {
    const pid = Number((await readFile(lockFile, "utf8")).trim());
    if (Number.isInteger(pid) && pid > 0 && isLiveSynapse(pid)) {
      throw new LocalSynapseError(`a Synapse (pid ${pid}) already runs with the data in ${hostDataDir} (another demo?): stop it first`);
    }
  }

  const logPath = opts.logPath ?? (persistent ? path.join(hostDataDir, "synapse.log") : path.join(tmpdir(), `mcc-synapse-${id}.log`));
  let port: number;
  if (opts.port === undefined) {
    port = await freePort();
  } else if (await portIsFree(opts.port)) {
    port = opts.port;
  } else if (opts.portFallback === true) {
    port = await freePort();
    log?.info({ wanted: opts.port, port }, "the port is taken: using a free one");
  } else {
    throw new LocalSynapseError(`port ${opts.port} on 127.0.0.1 is already in use`);
  }
  const baseUrl = `http://127.0.0.1:${port}`;
  const configPath = `${chrootDataDir}/homeserver.yaml`;
  const hostConfigPath = path.join(hostDataDir, "homeserver.yaml");
  const created = !existsSync(path.join(hostDataDir, "homeserver.db"));

  /** The command that runs `args` inside the chroot, with the persistent data directory mounted. */
  const inChroot = (args: string[]): [string, string[]] => {
    if (!persistent) return ["chroot", [root, ...args]];
    const script = 'mount --bind "$1" "$2" && r="$3" && shift 3 && exec chroot "$r" "$@"';
    return ["unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", hostDataDir, path.join(root, chrootDataDir.slice(1)), root, ...args]];
  };

  if (!existsSync(hostConfigPath)) {
    const [cmd, args] = inChroot([
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
      chrootDataDir,
    ]);
    await execFileAsync(cmd, args, { env: CHILD_ENV });
  }
  const current = configFileSchema.parse(YAML.parse(await readFile(hostConfigPath, "utf8")));
  const existingSecret = current["registration_shared_secret"];
  const sharedSecret = typeof existingSecret === "string" && existingSecret !== "" ? existingSecret : randomBytes(24).toString("hex");
  const config = patchConfig(current, { port, dataDir: chrootDataDir, sharedSecret, turn: opts.turn, extraConfig: opts.extraConfig });
  await writeFile(hostConfigPath, YAML.stringify(config), { mode: 0o600 });
  await chmod(hostConfigPath, 0o600); // it holds the registration secret
  await writeFile(path.join(hostDataDir, "log.config"), YAML.stringify(LOG_CONFIG));

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopped = false;

  const launch = async (): Promise<void> => {
    const out = await open(logPath, "a");
    let proc: ChildProcess;
    try {
      const [cmd, args] = inChroot(["python3", "-m", "synapse.app.homeserver", "--config-path", configPath]);
      // Its own process group: a Ctrl-C at the terminal reaches the parent, which stops Synapse in order.
      proc = spawn(cmd, args, { stdio: ["ignore", out.fd, out.fd], env: CHILD_ENV, detached: true });
    } finally {
      await out.close();
    }
    child = proc;
    running.add(proc);
    if (persistent && proc.pid !== undefined) await writeFile(lockFile, `${proc.pid}\n`);
    let hasExited = false;
    exited = new Promise<void>((resolve) => {
      proc.once("exit", (code, signal) => {
        hasExited = true;
        running.delete(proc);
        log?.debug({ code, signal, baseUrl }, "synapse exited");
        resolve();
      });
    });
    proc.once("error", (err) => {
      log?.error({ err: err.message }, "synapse could not be started");
    });
    const outcome = await poll(
      "Synapse to answer /_matrix/client/versions",
      async () => {
        if (hasExited) return "exited";
        const res = await fetch(`${baseUrl}/_matrix/client/versions`, { signal: AbortSignal.timeout(2000) });
        await res.body?.cancel();
        return res.ok ? "up" : undefined;
      },
      START_TIMEOUT_MS,
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
    if (persistent) await rm(lockFile, { force: true });
  };

  try {
    await launch();
  } catch (err: unknown) {
    await kill();
    if (!persistent && opts.keepData !== true) await rm(hostDataDir, { recursive: true, force: true });
    throw err;
  }
  log?.info({ baseUrl, ms: Date.now() - started, logPath, persistent, created }, "synapse started");

  const register = async (localpart: string, userOpts: { password?: string; admin?: boolean } = {}): Promise<{ userId: string; localpart: string; password: string }> => {
    const password = userOpts.password ?? randomBytes(12).toString("hex");
    const admin = userOpts.admin ?? false;
    const registerPath = "/_synapse/admin/v1/register";
    const { nonce } = await matrixRequest(baseUrl, registerPath, nonceSchema, "register nonce");
    const mac = createHmac("sha1", sharedSecret)
      .update(`${nonce}\0${localpart}\0${password}\0${admin ? "admin" : "notadmin"}`)
      .digest("hex");
    const registered = await matrixRequest(baseUrl, registerPath, registeredSchema, `register ${localpart}`, {
      body: { nonce, username: localpart, password, admin, mac },
    });
    return { userId: registered.user_id, localpart, password };
  };

  return {
    baseUrl,
    port,
    serverName: SERVER_NAME,
    dataDir: hostDataDir,
    persistent,
    created,
    logPath,
    register,
    async registerUser(localpart, userOpts = {}) {
      const registerOpts: { password?: string; admin?: boolean } = {};
      if (userOpts.password !== undefined) registerOpts.password = userOpts.password;
      if (userOpts.admin !== undefined) registerOpts.admin = userOpts.admin;
      const user = await register(localpart, registerOpts);
      const login = await passwordLogin(baseUrl, localpart, user.password, userOpts.deviceName ?? "matrix-camera-call test");
      return { ...user, accessToken: login.accessToken, deviceId: login.deviceId };
    },
    async restart() {
      if (stopped) throw new Error("restart() after stop()");
      const t0 = Date.now();
      await kill();
      await launch();
      log?.info({ baseUrl, ms: Date.now() - t0 }, "synapse restarted");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      if (!persistent && opts.keepData !== true) await rm(hostDataDir, { recursive: true, force: true });
    },
    pid: () => child?.pid,
  };
}
