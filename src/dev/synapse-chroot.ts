/**
 * Where the local Synapse lives and what running it needs: the provisioned Debian chroot (SYNAPSE_ROOT, built by
 * scripts/provision-synapse-root.sh), root, /proc mounted inside it, and the command line that runs a program in it
 * (for persistent data, through a private mount namespace so the bind mount goes away with the process). Kept apart
 * from the process lifecycle (synapse-process.ts) because the e2e gate and the demo ask these questions without
 * starting anything.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

export const execFileAsync = promisify(execFile);

export const DEFAULT_SYNAPSE_ROOT = "/var/cache/matrix-camera-call/synapse-root";
export const SERVER_NAME = "localhost";
/** Where a persistent data directory appears inside the chroot (in Synapse's own mount namespace only). */
export const PERSISTENT_MOUNT = "/srv/mcc-synapse-data";
export const CHILD_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root" };

/** Something the person must fix (no chroot, not root, already running); the message says what to do. */
export class LocalSynapseError extends Error {
  override name = "LocalSynapseError";
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

export async function ensureProcMounted(root: string): Promise<void> {
  const proc = path.join(root, "proc");
  const mounted = await execFileAsync("mountpoint", ["-q", proc]).then(
    () => true,
    () => false,
  );
  if (mounted) return;
  await mkdir(proc, { recursive: true });
  await execFileAsync("mount", ["-t", "proc", "proc", proc]);
}

/** True when `pid` is a live Synapse (a lock file left by a process that is gone does not count). */
export function isLiveSynapse(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("synapse.app.homeserver");
  } catch {
    return false;
  }
}

/**
 * The command that runs `args` inside the chroot `root`; with `mount` (persistent data), the host directory is
 * bind-mounted at `mount.chrootDir` first.
 */
export function inChroot(root: string, mount: { hostDir: string; chrootDir: string } | undefined, args: string[]): [string, string[]] {
  if (mount === undefined) return ["chroot", [root, ...args]];
  const script = 'mount --bind "$1" "$2" && r="$3" && shift 3 && exec chroot "$r" "$@"';
  return [
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "--",
      "/bin/sh",
      "-c",
      script,
      "sh",
      mount.hostDir,
      path.join(root, mount.chrootDir.slice(1)),
      root,
      ...args,
    ],
  ];
}
