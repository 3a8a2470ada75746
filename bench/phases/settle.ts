/** Before a window: wait until every stream runs at full rate (a new call ramps its bitrate up), at most settleMs. */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { waitFor } from "../../test/harness/wait.ts";
import { streamsAtRate } from "../measure/window.ts";
import { FPS } from "../plan.ts";
import type { PhaseContext } from "./phase.ts";

export async function settle({ rig, plan }: PhaseContext, keys: readonly string[], fps = FPS): Promise<boolean> {
  try {
    await waitFor("every stream at full rate", () => streamsAtRate(rig.receiver, keys, fps), { timeoutMs: plan.settleMs, intervalMs: 100 });
    return true;
  } catch {
    return false; // overload: the window measures what the calls get
  }
}

/** Samples of the process's RSS taken MEMORY_INTERVAL_MS apart that must agree within MEMORY_STILL_MB. */
const MEMORY_SAMPLES = 8;
const MEMORY_INTERVAL_MS = 250;
const MEMORY_STILL_MB = 2;

/** V8's full collection, asked for (node's `--expose-gc` flag, set from inside: the bench runs under tsx). */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/**
 * Before an idle baseline: collect the garbage, then wait until the bench process's RSS (the bot runs in it) holds
 * still (MEMORY_SAMPLES within MEMORY_STILL_MB: 1.75 s), at most timeoutMs. Why: the 1080p idle window came right
 * after the 720p series' 8 calls over four cameras (647 MB), and the bot gave memory back during it (mean 316 MB
 * against 221 at its end; full run 2026-12-05 03:42), so the per-call memory against it came out at 17 MB where the
 * calls held over 60. Waiting for a still RSS
 * alone did not help (still after 1.75 s, then 263 against 214 in the window); with the collection first, the idle
 * bot's own RSS at the windows' ends was 145–163 MB (before: 212–402), V8's heap and other anonymous memory smaller:
 * what ended calls left is freed once V8 collects their objects, which an idle process does late. False when it did not
 * settle: the window then measures what there is, and the phase notes it.
 */
export async function memorySettled(timeoutMs = 20_000): Promise<boolean> {
  collectGarbage();
  const samples: number[] = [];
  try {
    await waitFor(
      "the bot's memory to hold still",
      () => {
        samples.push(process.memoryUsage.rss() / 1e6);
        if (samples.length > MEMORY_SAMPLES) samples.shift();
        return samples.length === MEMORY_SAMPLES && Math.max(...samples) - Math.min(...samples) < MEMORY_STILL_MB;
      },
      { timeoutMs, intervalMs: MEMORY_INTERVAL_MS },
    );
    return true;
  } catch {
    return false;
  }
}

/** One call of `camera` in the first room (the test camera `start` started first), settled at full rate. */
export async function oneSettledCall(ctx: PhaseContext, camera: string, start = camera): Promise<{ room: string; key: string }> {
  const [room] = ctx.rig.rooms;
  if (room === undefined) throw new Error("no room");
  await ctx.rig.cameras.start(start);
  const h = await ctx.rig.calls.place(room, camera);
  await settle(ctx, [h.key]);
  return { room, key: h.key };
}

/**
 * One variant of a comparison (audio on/off, talkback off/on): waits until the test camera `cam`'s pipeline has
 * stopped (the variant before held it), so each variant starts cold, then a call of `camera` in `room`, settled.
 */
export async function coldSettledCall(ctx: PhaseContext, room: string, camera: string, cam: string): Promise<string> {
  await ctx.rig.calls.pipelineStopped(cam);
  const h = await ctx.rig.calls.place(room, camera);
  await settle(ctx, [h.key]);
  return h.key;
}
