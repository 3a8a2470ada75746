/**
 * The headline figures: one 720p25 call, a long window for glass-to-glass latency (capture stamp → decoded frame),
 * read by ffmpeg (the default front end) and then by GStreamer (frontEnd: gstreamer, the same camera).
 */
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import { cameraName } from "../rig/cameras.ts";
import { GST_CAMERA } from "../rig/config.ts";
import type { Phase } from "./phase.ts";
import { settle } from "./settle.ts";

export const latencyPhase: Phase = {
  name: "latency",
  about: "one 720p25 call: added latency p50/p95 over a long window, with the WebRTC breakdown",
  byDefault: true,
  async run(ctx) {
    const { rig, plan, results, say } = ctx;
    const cam = cameraName(R720, 0);
    const [room] = rig.rooms;
    if (room === undefined) throw new Error("no room");
    await rig.cameras.start(cam);
    const h = await rig.calls.place(room, cam);
    await settle(ctx, [h.key]);
    say(`${R720.name}: 1 call, latency window ${plan.latencyWindowS} s`);
    results.windows.push(
      await measureWindow(
        rig,
        { name: `${R720.name} bot, 1 call (latency window)`, kind: "latency", resolution: R720.name, calls: 1, cameras: 1 },
        [h.key],
        plan.latencyWindowS,
        {
          sourceCams: [cam],
          senders: botSenders(rig.app, () => [room]),
        },
      ),
    );
    await rig.calls.hangup(room);
    say(`${R720.name}: 1 call through the GStreamer front end, latency window ${plan.latencyWindowS} s`);
    const g = await rig.calls.place(room, GST_CAMERA);
    await settle(ctx, [g.key]);
    results.windows.push(
      await measureWindow(
        rig,
        {
          name: `${R720.name} bot, 1 call, frontEnd gstreamer (latency window)`,
          kind: "latency-gst",
          resolution: R720.name,
          calls: 1,
          cameras: 1,
        },
        [g.key],
        plan.latencyWindowS,
        {
          sourceCams: [GST_CAMERA],
          senders: botSenders(rig.app, () => [room]),
        },
      ),
    );
    await rig.calls.hangup(room);
  },
};
