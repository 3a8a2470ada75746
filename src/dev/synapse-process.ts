/**
 * One local Synapse process's lifecycle: spawn it (own process group, output to a log file, a pid lock file for
 * persistent data), wait until /_matrix/client/versions answers (or it exits, or 90 s pass: then the log's tail is in
 * the error), and stop it (SIGTERM, SIGKILL after 10 s). Every child still running is killed when Node exits. Apart
 * from local-synapse.ts, which decides the data directory, port and config, so that restart() is just kill + launch.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import type { Logger } from "../util/logger.ts";
import { CHILD_ENV } from "./synapse-chroot.ts";

const START_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 10_000;

/**
 * Children still running, killed if the process exits without stopping them. Kept on globalThis: a test
 * runner may evaluate this module once per test file, and one set and one exit hook serve them all.
 */
const RUNNING = Symbol.for("matrix-camera-call.local-synapse.running");
const holder = globalThis as { [RUNNING]?: Set<ChildProcess> };
const running: Set<ChildProcess> = holder[RUNNING] ?? new Set<ChildProcess>();
export function installExitHook(): void {
  if (holder[RUNNING] !== undefined) return;
  holder[RUNNING] = running;
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
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
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError !== "" ? ` (last error: ${lastError})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface SynapseProcessOptions {
  /** The command that runs Synapse (in the chroot). */
  command: [string, string[]];
  baseUrl: string;
  logPath: string;
  /** Persistent data only: the file that holds the running Synapse's pid. */
  lockFile: string | undefined;
  log: Logger | undefined;
}

export interface SynapseProcess {
  /** Starts Synapse; resolves when it answers, rejects (having killed it) when it does not. */
  launch(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; removes the lock file. Nothing when not running. */
  kill(): Promise<void>;
  pid(): number | undefined;
}

export function synapseProcess(opts: SynapseProcessOptions): SynapseProcess {
  const { command, baseUrl, logPath, lockFile, log } = opts;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const out = await open(logPath, "a");
    let proc: ChildProcess;
    try {
      const [cmd, args] = command;
      // Its own process group: a Ctrl-C at the terminal reaches the parent, which stops Synapse in order.
      proc = spawn(cmd, args, { stdio: ["ignore", out.fd, out.fd], env: CHILD_ENV, detached: true });
    } finally {
      await out.close();
    }
    child = proc;
    running.add(proc);
    if (lockFile !== undefined && proc.pid !== undefined) await writeFile(lockFile, `${proc.pid}\n`);
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
    if (lockFile !== undefined) await rm(lockFile, { force: true });
  };

  return { launch, kill, pid: () => child?.pid };
}
