/**
 * A real Synapse homeserver on 127.0.0.1 for end-to-end tests: a thin wrapper of src/dev/local-synapse.ts (shared
 * with the demo).
 *
 * Synapse runs from the Debian chroot that scripts/provision-synapse-root.sh builds (SYNAPSE_ROOT, default
 * /var/cache/matrix-camera-call/synapse-root). Each startSynapse() gets a fresh data directory inside the chroot, a
 * free port, sqlite, a client-only listener and rate limits high enough that tests never see a 429.
 * KEEP_SYNAPSE_DATA=1 keeps the data directory after stop().
 */
import {
  startLocalSynapse,
  synapseRoot as localSynapseRoot,
  type RegisteredUser as LocalRegisteredUser,
} from "../../src/dev/local-synapse.ts";
import { harnessLog } from "./log.ts";

export type RegisteredUser = LocalRegisteredUser;

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
  /** More homeserver.yaml settings merged over the generated ones. */
  extraConfig?: Record<string, unknown>;
}

/** The provisioned chroot that holds Synapse. */
export function synapseRoot(): string {
  return localSynapseRoot();
}

export async function startSynapse(opts: StartSynapseOptions = {}): Promise<SynapseHandle> {
  const synapse = await startLocalSynapse({
    log: harnessLog,
    keepData: process.env["KEEP_SYNAPSE_DATA"] !== undefined,
    ...(opts.turn !== undefined ? { turn: opts.turn } : {}),
    ...(opts.extraConfig !== undefined ? { extraConfig: opts.extraConfig } : {}),
  });
  return {
    baseUrl: synapse.baseUrl,
    serverName: synapse.serverName,
    logPath: synapse.logPath,
    registerUser: (localpart, userOpts) => synapse.registerUser(localpart, userOpts),
    restart: () => synapse.restart(),
    stop: () => synapse.stop(),
  };
}
