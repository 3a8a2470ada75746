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

/**
 * Samples of the process's RSS taken MEMORY_INTERVAL_MS apart that must agree within MEMORY_STILL_MB: 6 s. Why so
 * long: what ended calls held comes back in one step, at times seconds after a collection (RSS every 250 ms for 12 s
 * after one, `--only series-720,series-1080`, 2026-12-05: flat, then 297 → 152 MB at 3.8 s after 8 720p calls, 287 →
 * 153 at 0.9 s). With 8 samples (1.75 s) the step came inside the idle window: the 04:29 run's 1080p idle window
 * read mean 196 MB, max 232, the bot 160 at its end, and the memory per call against it 55 MB where it was 69–77.
 */
const MEMORY_SAMPLES = 25;
const MEMORY_INTERVAL_MS = 250;
export const MEMORY_STILL_MB = 2;

/**
 * V8's last-resort collection (what it does when memory runs out): beside a full collection it shrinks the young
 * generation and returns its pooled pages, which an idle Node process otherwise does when V8's memory reducer gets
 * round to it. A Node 24 process that had built a million objects: 134 MB, 112 after a plain gc(), 60 after this.
 * (node's `--expose-gc` flag, set from inside: the bench runs under tsx.)
 */
function collectGarbage(): void {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as (o: { type: string; execution: string; flavor: string }) => void)({
    type: "major",
    execution: "sync",
    flavor: "last-resort",
  });
}

/**
 * Before an idle baseline: collect the garbage, then wait until the bench process's RSS (the bot runs in it) holds
 * still (MEMORY_SAMPLES within MEMORY_STILL_MB), collecting again every second, at most timeoutMs. Why: an idle
 * process collects late, and the native parts of ended calls are freed once V8 collects their objects (the idle
 * bot's RSS at the windows' ends 145–163 MB with a collection, 212–402 without; full runs of 2026-12-05). False when
 * it did not settle: the window then measures what there is, and the phase notes it.
 */
export async function memorySettled(timeoutMs = 30_000): Promise<boolean> {
  collectGarbage();
  const samples: number[] = [];
  let ticks = 0;
  try {
    await waitFor(
      "the bot's memory to hold still",
      () => {
        // A collection every second: objects of ended calls let go of later (by what, not found) are collected too.
        if (++ticks % 4 === 0) collectGarbage();
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
