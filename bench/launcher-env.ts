/**
 * The bench measures the bot as users run it: with the environment the launcher (bin/matrix-camera-call, also the
 * Docker image's ENV) gives the node process. glibc reads its malloc settings (MALLOC_ARENA_MAX, …) once, when the
 * process starts, so `npm run bench` started without them runs itself again with them (run.ts). Measured 2026-12-01:
 * the malloc settings change the bot's RSS per call by tens of MB (docs/benchmark.md), so a bench without them
 * measures a process nobody runs.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { LAUNCHER_ENV_MARK, withoutLauncherEnv } from "../test/harness/rig-env.ts";

/** The launcher's defaults: its `export NAME="${NAME:-value}"` lines. */
export function launcherDefaults(script: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of script.split("\n")) {
    const m = /^\s*export\s+([A-Z_][A-Z0-9_]*)="\$\{([A-Z_][A-Z0-9_]*):-([^}"]*)\}"\s*$/.exec(line);
    if (m?.[1] !== undefined && m[1] === m[2]) out[m[1]] = m[3] ?? "";
  }
  return out;
}

/** The defaults this environment lacks (a variable already set, even to another value, is the user's choice). */
export function missingFrom(env: NodeJS.ProcessEnv, defaults: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(defaults).filter(([k]) => env[k] === undefined));
}

const ZERO_PAGES = fileURLToPath(new URL("../scripts/zero-pages.sh", import.meta.url));

/**
 * The launcher's preload (native/zero-pages.c: libvpx's unused token buffer pages left unallocated), built where it
 * can be, as the launcher does; {} where the launcher would run without it (MCC_ZERO_PAGES=0, no compiler) and where
 * the environment has its own LD_PRELOAD (the user's choice). The soak test runs its bot with it too.
 */
export function launcherPreload(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env["MCC_ZERO_PAGES"] === "0" || env["LD_PRELOAD"] !== undefined) return {};
  const so = execFileSync("sh", [ZERO_PAGES], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  return so === "" ? {} : { LD_PRELOAD: so };
}

const LAUNCHER = fileURLToPath(new URL("../bin/matrix-camera-call", import.meta.url));

/** The environment bin/matrix-camera-call gives the bot: its defaults and its preload (the soak tests run theirs so). */
export function launcherEnv(): Record<string, string> {
  return { ...launcherDefaults(readFileSync(LAUNCHER, "utf8")), ...launcherPreload() };
}

// For the receiver and the rig, which stand for the callee's client and the cameras, not the bot (the bot's malloc
// settings made the receiver's own frame copies slower under load).
export { withoutLauncherEnv };

/**
 * Undefined when this process already has the launcher's environment; otherwise runs this same script again with it
 * (same node flags, same arguments, same terminal) and resolves with its exit code.
 */
export function rerunWithLauncherEnv(launcher: string): Promise<number> | undefined {
  if (process.env[LAUNCHER_ENV_MARK] !== undefined) return undefined;
  const missing = { ...missingFrom(process.env, launcherDefaults(readFileSync(launcher, "utf8"))), ...launcherPreload() };
  if (Object.keys(missing).length === 0) return undefined;
  process.stdout.write(`bench: running again with the launcher's environment: ${JSON.stringify(missing)}\n`);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, ...missing, [LAUNCHER_ENV_MARK]: Object.keys(missing).join(",") },
  });
  // The child is in this process group: Ctrl-C reaches it directly. A SIGTERM to this process alone is passed on.
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on("SIGINT", () => undefined);
  process.on("SIGTERM", forward);
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(code ?? (signal !== null ? 1 : 0));
    });
  });
}
