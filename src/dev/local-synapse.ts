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
 *
 * This file owns the data directory, the port and the config; the chroot and its checks are synapse-chroot.ts, the
 * process (launch, wait, kill) synapse-process.ts, and registration synapse-admin.ts.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import YAML from "yaml";
import { z } from "zod";
import type { Logger } from "../util/logger.ts";
import { freePort, portIsFree } from "./ports.ts";
import { registerAndLogin, registerWithSharedSecret, type RegisteredUser } from "./synapse-admin.ts";
import {
  CHILD_ENV,
  ensureProcMounted,
  execFileAsync,
  inChroot,
  isLiveSynapse,
  isRoot,
  isSynapseRootProvisioned,
  LocalSynapseError,
  PERSISTENT_MOUNT,
  SERVER_NAME,
  synapseRoot,
} from "./synapse-chroot.ts";
import { LOG_CONFIG, patchConfig, type SynapseTurn } from "./synapse-config.ts";
import { installExitHook, synapseProcess } from "./synapse-process.ts";

export { freePort } from "./ports.ts";
export type { RegisteredUser } from "./synapse-admin.ts";
export { DEFAULT_SYNAPSE_ROOT, isRoot, isSynapseRootProvisioned, LocalSynapseError, SERVER_NAME, synapseRoot } from "./synapse-chroot.ts";

const configFileSchema = z.record(z.string(), z.unknown());

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
  register(
    localpart: string,
    opts?: { password?: string; admin?: boolean },
  ): Promise<{ userId: string; localpart: string; password: string }>;
  /** Registers a user, then logs in with the password (a new device). */
  registerUser(localpart: string, opts?: { password?: string; admin?: boolean; deviceName?: string }): Promise<RegisteredUser>;
  /** Stops and starts the same server (same data); resolves when /_matrix/client/versions answers again. */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; removes temporary data; idempotent. */
  stop(): Promise<void>;
  /** The Synapse process id while it runs. */
  pid(): number | undefined;
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
  const mount = persistent ? { hostDir: hostDataDir, chrootDir: chrootDataDir } : undefined;
  const chrootCommand = (args: string[]): [string, string[]] => inChroot(root, mount, args);

  if (!existsSync(hostConfigPath)) {
    const [cmd, args] = chrootCommand([
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

  let stopped = false;
  const synapse = synapseProcess({
    command: chrootCommand(["python3", "-m", "synapse.app.homeserver", "--config-path", configPath]),
    baseUrl,
    logPath,
    lockFile: persistent ? lockFile : undefined,
    log,
  });

  try {
    await synapse.launch();
  } catch (err: unknown) {
    await synapse.kill();
    if (!persistent && opts.keepData !== true) await rm(hostDataDir, { recursive: true, force: true });
    throw err;
  }
  log?.info({ baseUrl, ms: Date.now() - started, logPath, persistent, created }, "synapse started");

  return {
    baseUrl,
    port,
    serverName: SERVER_NAME,
    dataDir: hostDataDir,
    persistent,
    created,
    logPath,
    register: (localpart, userOpts) => registerWithSharedSecret(baseUrl, sharedSecret, localpart, userOpts),
    registerUser: (localpart, userOpts) => registerAndLogin(baseUrl, sharedSecret, localpart, userOpts),
    async restart() {
      if (stopped) throw new Error("restart() after stop()");
      const t0 = Date.now();
      await synapse.kill();
      await synapse.launch();
      log?.info({ baseUrl, ms: Date.now() - t0 }, "synapse restarted");
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await synapse.kill();
      if (!persistent && opts.keepData !== true) await rm(hostDataDir, { recursive: true, force: true });
    },
    pid: () => synapse.pid(),
  };
}
