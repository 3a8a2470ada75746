/**
 * Talkback (issue 12): the callee's microphone (the receiver's tone microphone, 1 kHz) → the bot → the door.
 * - exec: the camera `talk-exec` runs bench/talkback_sink.py, which records what reaches its stdin with arrival times;
 * - ONVIF: an ONVIF camera with a PCMU backchannel (test/harness/rtsp_camera.py --backchannel) records what it
 *   receives. GStreamer 1.22's test camera loses backchannel sessions (see test/e2e/talkback-onvif.test.ts): when it
 *   does, the figure is "not measured" with the reason, and the run goes on.
 * Latency: tone bursts (300 ms on, 700 ms off) for --talkback-seconds; each onset → the first 10 ms of tone at the
 * door. Drift: the least-squares slope of those latencies over the run; per slice, where the delay was held (the
 * bot's mixer queue and its NetEq jitter buffer: measure/talkback-levels.ts). CPU: the bot with one call while the
 * callee talks, on the same camera without and with talkback (the command's own CPU apart). Then the exec path in a
 * MatrixRTC call: the same bursts from the callee's microphone in LiveKit (bench/rtc-callee.ts).
 * Over 250 lines: three paths share the bursts and the result (the MatrixRTC one is 30 lines).
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { childrenNamed, type ProcGroup } from "../../test/harness/proc-stats.ts";
import { readBackchannel } from "../../test/harness/rtsp-camera.ts";
import { startRtspCamera } from "../../test/harness/rtsp-camera.ts";
import { TONE_AMPLITUDE } from "../../test/harness/tone-mic.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { mouthToDoor, slope, toneHeardSince } from "../measure/talkback.ts";
import { outsideNetEq, sampleLevels, slices, type LevelSample } from "../measure/talkback-levels.ts";
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import type { TalkbackResult } from "../report/results.ts";
import { cameraName } from "../rig/cameras.ts";
import { RtcCallDriver } from "../rig/rtc-calls.ts";
import { TALKBACK_EXEC_CAMERA, TALKBACK_ONVIF_CAMERA, TALKBACK_RATE } from "../rig/config.ts";
import { fmt, percentile } from "../stats.ts";
import type { Phase, PhaseContext } from "./phase.ts";
import { coldSettledCall } from "./settle.ts";

const HZ = 1000;
const BURST_ON_MS = 300;
const BURST_PERIOD_MS = 1000;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sizeOf = (file: string): number => (existsSync(file) ? statSync(file).size : 0);

/** Waits until the door has heard no tone for 300 ms (audio still on its way from earlier talk would count as a hit). */
async function doorQuiet(file: string): Promise<void> {
  await waitFor(
    "the door to be quiet",
    () => {
      const records = readBackchannel(file);
      const now = Date.now();
      return (
        (records.at(-1)?.at ?? 0) > now - 100 && !toneHeardSince(records.slice(-100), now - 300, HZ, TALKBACK_RATE, TONE_AMPLITUDE / 4)
      );
    },
    { timeoutMs: 10_000, intervalMs: 100 },
  );
}

/** Talks in bursts for `seconds` (the stimulus: set times, not waits for a condition); returns the onsets. */
async function bursts(ctx: PhaseContext, seconds: number, file: string): Promise<number[]> {
  await doorQuiet(file);
  const onsets: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const t0 = await ctx.rig.receiver.talk(true);
    onsets.push(t0);
    await sleep(BURST_ON_MS);
    await ctx.rig.receiver.talk(false);
    await sleep(Math.max(0, t0 + BURST_PERIOD_MS - Date.now()));
  }
  return onsets;
}

function result(path: TalkbackResult["path"], file: string, fromRecord: number, onsets: readonly number[]): TalkbackResult {
  const records = readBackchannel(file).slice(fromRecord);
  const latencies = mouthToDoor(records, onsets, HZ, TALKBACK_RATE, TONE_AMPLITUDE / 4);
  const first = onsets[0] ?? 0;
  const at = onsets.map((t) => (t - first) / 1000);
  const s = slope(
    at.map((x) => x / 60),
    latencies,
  );
  return { path, latencies, at, slopeMsPerMin: s, lost: latencies.filter((x) => Number.isNaN(x)).length };
}

/** Per slice: where the latency was held (bench/measure/talkback-levels.ts); a step shows in one of the columns. */
function sayLevels(ctx: PhaseContext, r: TalkbackResult): void {
  ctx.say(
    "  exec per slice: from s | bursts | latency p50 | mixer least / mean held | mixer trimmed / dropped | NetEq delay / target | NetEq concealed (ms) | sink / NetEq rate (% of wall clock)",
  );
  for (const s of r.slices ?? [])
    ctx.say(
      `    ${fmt(s.fromS)} | ${s.bursts} | ${fmt(s.latencyP50)} | ${fmt(s.mixerLeastMs, 1)} / ${fmt(s.mixerMeanMs, 1)} | ${fmt(s.trimmedMs)} / ${fmt(s.droppedMs)} | ${fmt(s.jitterBufferMs, 1)} / ${fmt(s.jitterTargetMs, 1)} | ${fmt(s.concealedMs)} | ${fmt(s.sinkRatePct, 1)} / ${fmt(s.neteqRatePct, 1)}`,
    );
}

function sinkGroup(cameraPids: () => number[]): ProcGroup {
  return { name: "talkbackCommand", pids: () => childrenNamed(process.pid, "python3").filter((p) => !cameraPids().includes(p)) };
}

async function execPath(ctx: PhaseContext): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const [room] = rig.rooms;
  if (room === undefined) throw new Error("no room");
  const cam = cameraName(R720, 0);
  await rig.cameras.start(cam);
  const seconds = Math.min(plan.windowS, 20);
  const cpu: Record<string, number | undefined> = {};
  const sink = sinkGroup(() => rig.cameras.pids());
  for (const [camera, label] of [
    [cam, "without talkback"],
    [TALKBACK_EXEC_CAMERA, "talkback exec"],
  ] as const) {
    const key = await coldSettledCall(ctx, room, camera, cam);
    if (camera === TALKBACK_EXEC_CAMERA) {
      const before = sizeOf(rig.talkbackFile);
      await waitFor("the talkback command to receive audio", () => sizeOf(rig.talkbackFile) > before, { timeoutMs: 15_000 });
    }
    await rig.receiver.talk(true);
    say(`talkback: 1 ${R720.name} call, the callee talking, ${label}, ${seconds} s window`);
    const w = await measureWindow(
      rig,
      { name: `${R720.name} bot, 1 call, callee talking, ${label}`, kind: "talkback", resolution: R720.name, calls: 1, cameras: 1 },
      [key],
      seconds,
      {
        sourceCams: [camera],
        senders: botSenders(rig.app, () => [room]),
        extraGroups: [sink],
      },
    );
    await rig.receiver.talk(false);
    results.windows.push(w);
    cpu[label] = w.cpu["bot"];
    if (camera === TALKBACK_EXEC_CAMERA) {
      results.figures.push({
        what: "talkback command's own CPU (bench/talkback_sink.py, not the bot's)",
        value: w.cpu["talkbackCommand"],
        unit: "% of a core",
      });
      const from = readBackchannel(rig.talkbackFile).length;
      say(`talkback exec: tone bursts for ${plan.talkbackSeconds} s`);
      const sampler = sampleLevels(rig.app, room);
      let levels: LevelSample[] = [];
      const onsets = await bursts(ctx, plan.talkbackSeconds, rig.talkbackFile).finally(() => {
        levels = sampler.stop();
      });
      await waitFor(
        "the last burst at the door",
        () => (readBackchannel(rig.talkbackFile).at(-1)?.at ?? 0) > (onsets.at(-1) ?? 0) + BURST_ON_MS,
        { timeoutMs: 5_000, intervalMs: 200 },
      ).catch(() => undefined);
      const r = result("exec", rig.talkbackFile, from, onsets);
      r.slices = slices(onsets, r.latencies, levels, plan.talkbackSeconds >= 360 ? 60 : 30);
      r.levels = levels;
      r.firstOnsetAt = onsets[0];
      // The same least-squares rise as the target's, of each burst's latency less the bot's NetEq delay at the time.
      const outside = outsideNetEq(onsets, r.latencies, levels);
      const minutes = (r.at.at(-1) ?? 0) / 60;
      const outsideSlope = slope(
        r.at.map((x) => x / 60),
        outside,
      );
      results.figures.push({
        what: `talkback exec: rise over ${fmt(minutes, 1)} min of mouth → door less the bot's NetEq delay (the part outside its jitter buffer; ${outside.filter(Number.isFinite).length} bursts)`,
        value: outsideSlope === undefined ? undefined : outsideSlope * minutes,
        unit: "ms",
      });
      results.talkback.push(r);
      sayLevels(ctx, r);
      const worst = Math.max(0, ...(r.slices ?? []).map((x) => x.jitterBufferMs ?? 0));
      if (worst > BURST_PERIOD_MS - BURST_ON_MS) {
        // A burst that takes longer than the quiet gap arrives after the next onset and is matched to it.
        const note = `talkback exec: the bot's NetEq held ${fmt(worst)} ms in a slice, more than the ${BURST_PERIOD_MS - BURST_ON_MS} ms between bursts: latencies there are matched to the wrong onset (load, not the bot)`;
        results.notes.push(note);
        say(`  ${note}`);
      }
      say(
        `  exec: p50 ${fmt(percentile(r.latencies.filter(Number.isFinite), 50))} ms, p95 ${fmt(percentile(r.latencies.filter(Number.isFinite), 95))} ms, ${r.lost} of ${onsets.length} bursts lost, slope ${fmt(r.slopeMsPerMin, 2)} ms/min`,
      );
    }
    await rig.calls.hangup(room);
  }
  const a = cpu["without talkback"];
  const b = cpu["talkback exec"];
  results.figures.push({
    what: "CPU the talkback adds to one call (bot + its ffmpeg, callee talking; exec path)",
    value: a !== undefined && b !== undefined ? b - a : undefined,
    unit: "% of a core",
  });
}

async function onvifPath(ctx: PhaseContext): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const [room] = rig.rooms;
  if (room === undefined) throw new Error("no room");
  const file = path.join(rig.runDir, "talkback-onvif.raw");
  const camera = await startRtspCamera({
    width: 320,
    height: 240,
    fps: 10,
    audio: "pcma",
    backchannel: "pcmu",
    backchannelFile: file,
    port: rig.onvifPort,
  });
  rig.own("ONVIF camera", () => camera.stop());
  await rig.calls.place(room, TALKBACK_ONVIF_CAMERA);
  const linked = await waitFor("the ONVIF backchannel", () => camera.backchannelsLinked() >= 1, { timeoutMs: 15_000 }).then(
    () => true,
    () => false,
  );
  if (!linked) {
    results.talkback.push({
      path: "onvif",
      latencies: [],
      at: [],
      slopeMsPerMin: undefined,
      lost: 0,
      note: "the GStreamer ONVIF test camera received no backchannel audio (a known fault of the test camera: test/e2e/talkback-onvif.test.ts)",
    });
    say("talkback onvif: the test camera's backchannel received nothing; not measured");
  } else {
    const seconds = Math.min(plan.talkbackSeconds, 60);
    say(`talkback onvif: tone bursts for ${seconds} s`);
    const from = readBackchannel(file).length;
    const onsets = await bursts(ctx, seconds, file);
    await waitFor("the last burst at the camera", () => (readBackchannel(file).at(-1)?.at ?? 0) > (onsets.at(-1) ?? 0) + BURST_ON_MS, {
      timeoutMs: 5_000,
      intervalMs: 200,
    }).catch(() => undefined);
    const r = result("onvif", file, from, onsets);
    results.talkback.push(r);
    say(
      `  onvif: p50 ${fmt(percentile(r.latencies.filter(Number.isFinite), 50))} ms, p95 ${fmt(percentile(r.latencies.filter(Number.isFinite), 95))} ms, ${r.lost} of ${onsets.length} bursts lost`,
    );
  }
  await rig.calls.hangup(room);
}

/** The exec command again, in a MatrixRTC call (the callee's microphone in LiveKit: src/matrixrtc/livekit-voice.ts). */
async function matrixRtcPath(ctx: PhaseContext): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const [room] = rig.rooms;
  if (room === undefined) throw new Error("no room");
  const started = await RtcCallDriver.start(rig);
  if ("skip" in started) {
    results.talkback.push({ path: "matrixrtc", latencies: [], at: [], slopeMsPerMin: undefined, lost: 0, note: started.skip });
    say(`talkback matrixrtc skipped: ${started.skip}`);
    return;
  }
  await rig.viewer.setPower(room, rig.botUser.userId, 100);
  await started.ringVia(room, "matrixrtc");
  const before = sizeOf(rig.talkbackFile);
  await started.place(room, TALKBACK_EXEC_CAMERA);
  await waitFor("the talkback command to receive audio", () => sizeOf(rig.talkbackFile) > before, { timeoutMs: 15_000 });
  const seconds = Math.min(plan.talkbackSeconds, 60);
  say(`talkback matrixrtc: tone bursts for ${seconds} s`);
  const from = readBackchannel(rig.talkbackFile).length;
  const onsets = await bursts(ctx, seconds, rig.talkbackFile);
  await waitFor(
    "the last burst at the door",
    () => (readBackchannel(rig.talkbackFile).at(-1)?.at ?? 0) > (onsets.at(-1) ?? 0) + BURST_ON_MS,
    { timeoutMs: 5_000, intervalMs: 200 },
  ).catch(() => undefined);
  const r = result("matrixrtc", rig.talkbackFile, from, onsets);
  results.talkback.push(r);
  say(
    `  matrixrtc: p50 ${fmt(percentile(r.latencies.filter(Number.isFinite), 50))} ms, p95 ${fmt(percentile(r.latencies.filter(Number.isFinite), 95))} ms, ${r.lost} of ${onsets.length} bursts lost`,
  );
  await started.leave(room);
  await started.ringVia(room, "legacy");
}

export const talkbackPhase: Phase = {
  name: "talkback",
  about: "mouth → door latency over exec and ONVIF, its drift over --talkback-seconds, and the CPU talkback adds",
  byDefault: true,
  async run(ctx) {
    await ctx.rig.receiver.useTone(HZ);
    await execPath(ctx);
    await onvifPath(ctx);
    await matrixRtcPath(ctx);
  },
};
