/**
 * Time to ring and to the first frame. Cold: `!call` with the camera's pipeline stopped (the call starts ffmpeg);
 * warm: a second call while another call streams the same camera. With the bot-side steps (invite sent, answer
 * applied, ICE connected, the pipeline's first frame) to show where the time goes.
 */
import { R720 } from "../plan.ts";
import { emptyTtff, type TtffResult } from "../report/results.ts";
import type { CallHandle } from "../rig/calls.ts";
import { cameraName } from "../rig/cameras.ts";
import type { Phase } from "./phase.ts";

/** One call's timings into a time-to-first-frame result (the doorbell phase's presses too). */
export function record(into: TtffResult, h: CallHandle): void {
  const r = h.record;
  const answer = r.answerStart;
  if (r.firstFrameAt !== undefined && answer !== undefined) into.answerToFirstFrame.push(r.firstFrameAt - answer);
  if (r.firstFrameAt !== undefined) into.callToFirstFrame.push(r.firstFrameAt - h.saidAt);
  if (h.bot.inviteSentAt !== undefined) into.callToInvite.push(h.bot.inviteSentAt - h.saidAt);
  if (h.bot.inviteSentAt !== undefined && h.bot.commandSeenAt !== undefined)
    (into.commandToInvite ??= []).push(h.bot.inviteSentAt - h.bot.commandSeenAt);
  if (r.ringAt !== undefined) into.callToRing.push(r.ringAt - h.saidAt);
  if (h.bot.connectingAt !== undefined && answer !== undefined) into.answerToBotConnecting.push(h.bot.connectingAt - answer);
  if (h.bot.connectingAt !== undefined && r.firstFrameAt !== undefined)
    (into.answerReceivedToFirstFrame ??= []).push(r.firstFrameAt - h.bot.connectingAt);
  if (h.bot.connectedAt !== undefined && answer !== undefined) into.answerToBotConnected.push(h.bot.connectedAt - answer);
  if (h.bot.cameraFirstFrameAt !== undefined) into.callToCameraFirstFrame.push(h.bot.cameraFirstFrameAt - h.saidAt);
  if (r.answerDone !== undefined && answer !== undefined) into.answerCall.push(r.answerDone - answer);
  if (r.firstSize) into.firstSizes.push(`${r.firstSize.width}x${r.firstSize.height}`);
}

export const ttffPhase: Phase = {
  name: "ttff",
  about: "!call → invite → ring → first frame, cold (camera idle) and warm (camera streaming)",
  byDefault: true,
  async run({ rig, plan, results, say }) {
    const cam = cameraName(R720, 0);
    const [roomA, roomB] = rig.rooms;
    if (roomA === undefined || roomB === undefined) throw new Error("need two rooms");
    await rig.cameras.start(cam);
    const cold = emptyTtff(`cold !call → first frame (${R720.name}, camera idle)`, "cold");
    const warm = emptyTtff(`warm answer → first frame (${R720.name}, camera streaming for another call)`, "warm");
    results.ttff.push(cold, warm);
    say(`time to first frame, cold, ${plan.ttffRepeats}×`);
    for (let i = 0; i < plan.ttffRepeats; i++) {
      await rig.calls.pipelineStopped(cam);
      await rig.cameras.idle(cam);
      const h = await rig.calls.place(roomA, cam);
      await rig.calls.connected(h);
      record(cold, h);
      await rig.calls.hangup(roomA);
    }
    say(`time to first frame, warm, ${plan.ttffRepeats}×`);
    const first = await rig.calls.place(roomA, cam);
    await rig.calls.connected(first);
    for (let i = 0; i < plan.ttffRepeats; i++) {
      const h = await rig.calls.place(roomB, cam);
      await rig.calls.connected(h);
      record(warm, h);
      await rig.calls.hangup(roomB);
    }
    await rig.calls.hangup(roomA);
  },
};
