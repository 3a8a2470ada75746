/**
 * Doorbell press → the bot's invite sent → the callee ringing → first frame (issue 14 item 1: a press rings as fast
 * as `!call`, ≤ 100 ms to the invite, ≤ 250 ms to the ring), by the webhook (POST /ring/door with its token) and by
 * MQTT (a publish to the topic the bot's rule listens on). As a visitor finds it: the camera idle (nobody watches)
 * and the snapshot on (the default), so the snapshot's ffmpeg runs beside the ring.
 */
import { connectAsync } from "mqtt";
import { childrenNamed, FRONT_ENDS } from "../../test/harness/proc-stats.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { R720 } from "../plan.ts";
import { emptyTtff } from "../report/results.ts";
import { cameraName } from "../rig/cameras.ts";
import { DOORBELL_CAMERA, DOORBELL_TOKEN, DOORBELL_TOPIC } from "../rig/config.ts";
import type { Phase } from "./phase.ts";
import { record } from "./ttff.ts";

const WAYS = ["webhook", "mqtt"] as const;

export const doorbellPhase: Phase = {
  name: "doorbell",
  about: "doorbell press (webhook, MQTT) → invite → ring → first frame, camera idle, snapshot on",
  byDefault: true,
  async run({ rig, plan, results, say }) {
    const door = rig.doorbell;
    if (door === undefined) throw new Error("the rig was started without the doorbell's triggers");
    const cam = cameraName(R720, 0);
    await rig.cameras.start(cam);
    const { broker } = door;
    const publisher = await connectAsync(broker.url, { username: broker.username, password: broker.password });
    rig.own("the bench's MQTT publisher", () => publisher.endAsync());
    const presses = {
      webhook: async (): Promise<void> => {
        const res = await fetch(`${door.webhookUrl}/ring/${DOORBELL_CAMERA}`, {
          method: "POST",
          headers: { authorization: `Bearer ${DOORBELL_TOKEN}` },
        });
        if (res.status !== 202) throw new Error(`the webhook answered ${res.status}: ${await res.text()}`);
      },
      mqtt: async (): Promise<void> => {
        await publisher.publishAsync(DOORBELL_TOPIC, "ON", { qos: 0 });
      },
    };
    // The bot's own front ends (its pipeline, a snapshot's ffmpeg), not the cameras' keepers.
    const botFrontEnds = (): number => childrenNamed(process.pid, FRONT_ENDS).filter((p) => !rig.cameras.isKeeper(p)).length;
    for (const way of WAYS) {
      const into = emptyTtff(`doorbell press (${way}) → first frame (${R720.name}, camera idle, snapshot on)`, way);
      results.ttff.push(into);
      say(`doorbell press by ${way}, ${plan.ttffRepeats}×`);
      for (let i = 0; i < plan.ttffRepeats; i++) {
        // Each press from the same quiet state: the last call's pipeline and the last snapshot's ffmpeg gone.
        await rig.calls.pipelineStopped(DOORBELL_CAMERA);
        await waitFor("the bot's front ends to exit", () => botFrontEnds() === 0, { timeoutMs: 15_000 });
        await rig.cameras.idle(cam);
        const h = await rig.calls.press(rig.rooms, DOORBELL_CAMERA, presses[way]);
        await rig.calls.connected(h);
        record(into, h);
        await rig.calls.hangup(h.roomId);
      }
    }
  },
};
