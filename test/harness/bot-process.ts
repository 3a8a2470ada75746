/**
 * The bot as a real process for the long tests: `node src/main.ts --config FILE` (through tsx), everything it prints
 * in a log file, its figures read from outside (/proc/<pid>: RSS and open file descriptors; /metrics: calls, peer
 * connections, ffmpeg processes) and, with `gcOnSignal`, a full garbage collection on demand before memory is measured
 * (see gc-on-signal.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { waitFor } from "./wait.ts";

const GC_PRELOAD = fileURLToPath(new URL("./gc-on-signal.ts", import.meta.url));

/** process.memoryUsage() after a full GC, and per V8 heap space the bytes in use and resident (gc-on-signal.ts). */
export type GcFigures = NodeJS.MemoryUsage & { spaces: Record<string, { used: number; physical: number }> };

export interface BotProcess {
  pid: number;
  /** The /metrics figures, by series ("mcc_active_calls", 'mcc_calls_total{outcome="answered"}'). */
  metrics(): Promise<Map<string, number>>;
  /** A full garbage collection in the bot (needs gcFile); resolves with process.memoryUsage() right after it. */
  gc(): Promise<GcFigures>;
  /** Resident memory (kB, VmRSS) and open file descriptors, read from /proc. */
  memory(): { rssKb: number; fds: number };
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export async function startBotProcess(opts: {
  configFile: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  metricsUrl: string;
  gcFile?: string;
}): Promise<BotProcess> {
  const out = openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    const gcArgs = opts.gcFile !== undefined ? ["--expose-gc", "--import", "tsx", "--import", GC_PRELOAD] : ["--import", "tsx"];
    child = spawn(process.execPath, [...gcArgs, "src/main.ts", "--config", opts.configFile], {
      env: { ...opts.env, LOG_FORMAT: "json", ...(opts.gcFile !== undefined ? { MCC_GC_DONE_FILE: opts.gcFile } : {}) },
      stdio: ["ignore", out, out],
    });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      resolve(code);
    }),
  );
  const pid = child.pid ?? 0;
  const metrics = async (): Promise<Map<string, number>> => {
    const text = await (await fetch(opts.metricsUrl)).text();
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      if (line.startsWith("#") || line.trim() === "") continue;
      const i = line.lastIndexOf(" ");
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
    return out;
  };
  await waitFor(
    "the bot's /metrics",
    async () =>
      (await fetch(opts.metricsUrl).catch(() => undefined))?.ok === true ||
      (child.exitCode !== null ? Promise.reject(new Error(`the bot exited with ${String(child.exitCode)}`)) : false),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  let gcRuns = 0;
  return {
    pid,
    metrics,
    async gc() {
      const file = opts.gcFile;
      if (file === undefined) throw new Error("started without gcOnSignal");
      gcRuns++;
      const want = gcRuns;
      child.kill("SIGUSR2");
      // Only lines with their newline: a read while the bot appends can end inside one (a fresh-clone CI of
      // 80042bc parsed 216 characters of a line and failed).
      const line = await waitFor(
        "the bot's garbage collection",
        () => (existsSync(file) ? readFileSync(file, "utf8").split("\n").slice(0, -1)[want - 1] : undefined),
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      return JSON.parse(line) as GcFigures;
    },
    memory() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
      return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}
