/**
 * The call-assist reference: `ffmpeg -i <rtsp> -s 640x480 -r 10 … rawvideo` per call → RTCVideoSource → one peer
 * connection to the receiver (no Matrix), 1 → 8 calls: what the bot is compared with.
 */
import { waitFor } from "../../test/harness/wait.ts";
import { localSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { REFERENCE, startReferenceCall, type ReferenceCall } from "../pipelines.ts";
import { R720 } from "../plan.ts";
import { emptyTtff } from "../report/results.ts";
import { cameraName } from "../rig/cameras.ts";
import type { Phase } from "./phase.ts";
import { settle } from "./settle.ts";

export const referencePhase: Phase = {
  name: "reference",
  about: "call-assist's pipeline (one ffmpeg 640x480@10 per call, no Matrix) for comparison",
  byDefault: true,
  async run(ctx) {
    const { rig, plan, results, say } = ctx;
    const res = R720;
    const name = cameraName(res, 0);
    const cam = await rig.cameras.start(name);
    say("reference (call-assist): idle baseline");
    results.windows.push(
      await measureWindow(
        rig,
        { name: `reference idle (${res.name} camera)`, kind: "idle", resolution: res.name, calls: 0, cameras: 1 },
        [],
        Math.min(5, plan.windowS),
      ),
    );
    rig.cameras.markSessions([name]);
    const ttff = emptyTtff(`reference: ffmpeg start → first frame (${res.name}; no Matrix)`, "reference");
    results.ttff.push(ttff);
    const calls: ReferenceCall[] = [];
    const keys: string[] = [];
    for (const n of plan.referenceCalls) {
      while (calls.length < n) {
        const call = await startReferenceCall(rig.app.ffmpeg.path, cam.url, rig.receiver);
        calls.push(call);
        rig.own("reference call", () => call.stop());
        keys.push(call.link.key);
        const r = await waitFor(
          "the reference call's first frame",
          () => {
            const s = rig.receiver.streams.get(call.link.key);
            return s?.firstFrameAt !== undefined ? s : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 5 },
        ).catch((err: unknown) => {
          throw new Error(
            `${err instanceof Error ? err.message : String(err)} (ffmpeg delivered ${call.frames()} frames; ffmpeg said: ${call.lastLines.join(" | ")})`,
          );
        });
        if (r.firstFrameAt !== undefined) {
          ttff.callToFirstFrame.push(r.firstFrameAt - call.link.startedAt);
          if (r.answerStart !== undefined) ttff.answerToFirstFrame.push(r.firstFrameAt - r.answerStart);
        }
      }
      await settle(ctx, keys, REFERENCE.fps);
      const seconds = n === 1 ? plan.referenceLatencyWindowS : plan.windowS;
      say(`reference: ${n} call(s), ${seconds} s window`);
      const w = await measureWindow(
        rig,
        { name: `reference ${res.name}→640x480@10, ${n} call(s)`, kind: "reference", resolution: res.name, calls: n, cameras: 1 },
        [...keys],
        seconds,
        {
          senders: localSenders(() => calls.map((c) => c.link.pc)),
        },
      );
      w.rtspSessions = rig.cameras.sessionsSince([name]);
      results.windows.push(w);
    }
  },
};
