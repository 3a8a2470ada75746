/** Before a window: wait until every stream runs at full rate (a new call ramps its bitrate up), at most settleMs. */
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
