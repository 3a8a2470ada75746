/** One 720p call held for --drift-minutes, one window a minute: does latency, CPU or memory creep over a call? */
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import { cameraName } from "../rig/cameras.ts";
import { fmt } from "../stats.ts";
import type { Phase } from "./phase.ts";
import { oneSettledCall } from "./settle.ts";

export const driftPhase: Phase = {
  name: "drift",
  about: "one 720p25 call for --drift-minutes (default 2; --drift: 10), one window a minute",
  byDefault: false,
  async run(ctx) {
    const { rig, plan, results, say } = ctx;
    const cam = cameraName(R720, 0);
    const { room, key } = await oneSettledCall(ctx, cam);
    say(`drift: ${plan.driftMinutes} minute(s) of one ${R720.name} call, one window a minute`);
    for (let m = 0; m < plan.driftMinutes; m++) {
      const w = await measureWindow(
        rig,
        { name: `drift minute ${m + 1}`, kind: "drift", resolution: R720.name, calls: 1, cameras: 1 },
        [key],
        60,
        {
          sourceCams: [cam],
          senders: botSenders(rig.app, () => [room]),
        },
      );
      results.windows.push(w);
      say(
        `  minute ${m + 1}: p50 ${fmt(w.latency.p50)} ms, p95 ${fmt(w.latency.p95)} ms, ${fmt(w.fps.min, 1)} fps, bot CPU ${fmt(w.cpu["bot"])} %, RSS ${fmt(w.rssMB["bot"]?.mean)} MB`,
      );
    }
    await rig.calls.hangup(room);
  },
};
