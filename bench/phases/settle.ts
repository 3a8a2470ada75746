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
