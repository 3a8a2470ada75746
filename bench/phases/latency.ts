/**
 * The headline figures: one 720p25 call, a long window for glass-to-glass latency (capture stamp → decoded frame),
 * read by the default front end (the lean ffmpeg where built) and then by GStreamer (frontEnd: gstreamer, the same
 * camera).
 */
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import { cameraName } from "../rig/cameras.ts";
import { GSTREAMER_CAMERA } from "../rig/config.ts";
import type { Phase } from "./phase.ts";
import { oneSettledCall } from "./settle.ts";

export const latencyPhase: Phase = {
  name: "latency",
  about: "one 720p25 call: added latency p50/p95 over a long window, with the WebRTC breakdown",
  byDefault: true,
  async run(ctx) {
    const { rig, plan, results, say } = ctx;
    const cam = cameraName(R720, 0);
    const variants = [
      { camera: cam, label: "", kind: "latency" },
      { camera: GSTREAMER_CAMERA, label: ", frontEnd gstreamer", kind: "latency-gstreamer" },
    ] as const;
    for (const v of variants) {
      const { room, key } = await oneSettledCall(ctx, v.camera, cam);
      say(`${R720.name}: 1 call${v.label}, latency window ${plan.latencyWindowS} s`);
      const spec = {
        name: `${R720.name} bot, 1 call${v.label} (latency window)`,
        kind: v.kind,
        resolution: R720.name,
        calls: 1,
        cameras: 1,
      };
      results.windows.push(
        await measureWindow(rig, spec, [key], plan.latencyWindowS, { sourceCams: [v.camera], senders: botSenders(rig.app, () => [room]) }),
      );
      await rig.calls.hangup(room);
    }
  },
};
