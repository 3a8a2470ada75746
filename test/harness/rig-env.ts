/**
 * The environment for the processes that stand for other machines (the cameras, Synapse, LiveKit, the callee's
 * receiver): without what the bench's rerun added for the bot (bench/launcher-env.ts). The bench runs the bot in its
 * own process with the launcher's malloc settings and preload; its other children inherited them, and the rig's
 * camera servers then cost 22–57 % of a core instead of 13–16 % (their x264 encoders' frames mapped anew each time
 * under the bot's old 256 KiB mmap threshold; bench series-720, 2026-12-04), which left the bot less of the cores
 * than a real deployment has. In tests, where nothing was added, it is the environment as it is.
 */

/** Set by the bench's rerun: the names of the variables it added, comma-separated. */
export const LAUNCHER_ENV_MARK = "MCC_BENCH_LAUNCHER_ENV";

export function withoutLauncherEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const added = new Set([LAUNCHER_ENV_MARK, ...(env[LAUNCHER_ENV_MARK] ?? "").split(",")]);
  return Object.fromEntries(Object.entries(env).filter(([k]) => !added.has(k)));
}
