/** One 720p call with audio, then one on the same camera configured without audio: what A/V sync costs in latency. */
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import { cameraName } from "../rig/cameras.ts";
import { NO_AUDIO_CAMERA } from "../rig/config.ts";
import type { Phase } from "./phase.ts";
import { coldSettledCall } from "./settle.ts";

export const audioPhase: Phase = {
  name: "audio",
  about: "720p25 latency with the camera's audio on and off (A/V sync cost)",
  byDefault: true,
  async run(ctx) {
    const { rig, plan, results, say } = ctx;
    const [room] = rig.rooms;
    if (room === undefined) throw new Error("no room");
    const cam = cameraName(R720, 0);
    await rig.cameras.start(cam);
    const seconds = Math.min(plan.windowS, 20);
    for (const [camera, label] of [
      [cam, "audio on"],
      [NO_AUDIO_CAMERA, "audio off (camera audio: false)"],
    ] as const) {
      const key = await coldSettledCall(ctx, room, camera, cam);
      say(`${R720.name}: 1 call, ${label}, ${seconds} s window`);
      results.windows.push(
        await measureWindow(
          rig,
          { name: `${R720.name} bot, 1 call, ${label}`, kind: "bot-audio", resolution: R720.name, calls: 1, cameras: 1 },
          [key],
          seconds,
          {
            sourceCams: [camera],
            senders: botSenders(rig.app, () => [room]),
          },
        ),
      );
      await rig.calls.hangup(room);
      await rig.calls.pipelineStopped(camera);
    }
  },
};
