/**
 * MatrixRTC calls (issue 13) through a real LiveKit SFU and the /sfu/get test token service (bench/rig/rtc-calls.ts):
 * `!call` → the callee's client has the ring (rtc.notification); the callee joins (OpenID, /sfu/get, LiveKit, its
 * call.member) → first decoded frame; glass-to-glass over a long window, read from the stamped camera by rtc-node in
 * the receiver process; and the bot's CPU for no call, one and two calls of one camera, legacy first and then
 * MatrixRTC, in the same minutes (report/matrixrtc.ts). Skipped with one line when livekit-server or rtc-node is
 * missing. The first-frame repeats each start from an idle camera: a MatrixRTC `!call` starts the camera at once and
 * publishes while it rings, so by the join the camera runs (there is no warm/cold difference to show).
 */
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import { emptyRtc, type RtcTimings, type WindowResult } from "../report/results.ts";
import { cameraName } from "../rig/cameras.ts";
import { RtcCallDriver, type RtcCallHandle } from "../rig/rtc-calls.ts";
import type { Phase, PhaseContext } from "./phase.ts";
import { settle } from "./settle.ts";

function record(into: RtcTimings, h: RtcCallHandle): void {
  into.callToRing.push(h.ringAt - h.saidAt);
  into.joinToFirstFrame.push(h.firstFrameAt - h.joined.joinStart);
  into.joinToConnected.push(h.joined.connectedAt - h.joined.joinStart);
  into.joinToMemberSent.push(h.joined.memberSentAt - h.joined.joinStart);
  into.firstSizes.push(h.firstSize);
}

async function cpuWindow(
  ctx: PhaseContext,
  path: NonNullable<WindowResult["path"]>,
  keys: readonly string[],
  camera: string,
): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const calls = keys.length;
  const label = path === "none" ? "no call" : `${calls} ${path === "legacy" ? "legacy" : "MatrixRTC"} call${calls > 1 ? "s" : ""}`;
  say(`matrixrtc: the bot's CPU, ${label}, ${plan.windowS} s`);
  const spec = { name: `${R720.name} CPU, ${label}`, kind: "rtc-cpu", path, resolution: R720.name, calls, cameras: 1 } as const;
  results.windows.push(await measureWindow(rig, spec, keys, plan.windowS, { sourceCams: calls > 0 ? [camera] : [] }));
}

export const matrixRtcPhase: Phase = {
  name: "matrixrtc",
  about: "MatrixRTC through LiveKit: !call → ring, join → first frame, glass-to-glass, CPU per call against legacy",
  byDefault: true,
  async run(ctx) {
    const { rig, plan, results, say } = ctx;
    const started = await RtcCallDriver.start(rig);
    if ("skip" in started) {
      const line = `matrixrtc skipped: ${started.skip}`;
      say(line);
      results.notes.push(line);
      return;
    }
    const rtc = started;
    const cam = cameraName(R720, 0);
    const [roomA, roomB] = rig.rooms;
    if (roomA === undefined || roomB === undefined) throw new Error("need two rooms");
    // The viewer's DMs are private_chat, where the bot has power 0; Element's DMs give it 100 (test/harness/rtc-rig.ts).
    for (const room of [roomA, roomB]) await rig.viewer.setPower(room, rig.botUser.userId, 100);
    await rig.cameras.start(cam);

    await rig.calls.pipelineStopped(cam);
    await cpuWindow(ctx, "none", [], cam);
    const a = await rig.calls.place(roomA, cam);
    await settle(ctx, [a.key]);
    await cpuWindow(ctx, "legacy", [a.key], cam);
    const b = await rig.calls.place(roomB, cam);
    await settle(ctx, [a.key, b.key]);
    await cpuWindow(ctx, "legacy", [a.key, b.key], cam);
    await rig.calls.hangup(roomB);
    await rig.calls.hangup(roomA);

    await rtc.ringVia(roomA, "matrixrtc");
    const timings = emptyRtc();
    results.rtc.push(timings);
    say(`matrixrtc: !call → ring → join → first frame, ${plan.ttffRepeats}×`);
    for (let i = 0; i < plan.ttffRepeats; i++) {
      await rig.calls.pipelineStopped(cam);
      record(timings, await rtc.place(roomA, cam));
      await rtc.leave(roomA);
    }
    await rig.calls.pipelineStopped(cam);
    const one = await rtc.place(roomA, cam);
    record(timings, one);
    await settle(ctx, [one.key]);
    await cpuWindow(ctx, "matrixrtc", [one.key], cam);
    say(`matrixrtc: 1 call, latency window ${plan.latencyWindowS} s`);
    const spec = {
      name: `${R720.name} MatrixRTC, 1 call (latency window)`,
      kind: "rtc-latency",
      resolution: R720.name,
      calls: 1,
      cameras: 1,
    } as const;
    results.windows.push(await measureWindow(rig, spec, [one.key], plan.latencyWindowS, { sourceCams: [cam] }));
    const two = await rtc.place(roomB, cam);
    record(timings, two);
    await settle(ctx, [one.key, two.key]);
    await cpuWindow(ctx, "matrixrtc", [one.key, two.key], cam);
    await rtc.leave(roomB);
    await rtc.leave(roomA);
  },
};
