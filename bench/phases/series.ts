/**
 * Calls added one after the other on one camera (1, 2, 4, 8 …), then calls spread over several cameras: frame rate,
 * latency, CPU and memory per call, and one RTSP session per camera whatever the calls (counted per rig server). Each count starts after an
 * idle baseline of the bot with the camera(s) up.
 * Without the encode budget: these windows measure what a call costs at its camera's full size (issue 14 item 4).
 * With it, 8 × 720p25 calls on 2 cores get 640×360 and a second 1080p call halves the picture, and a per-call
 * figure over such windows measured smaller pictures (the run of 2026-12-01 11:42 gave −5.1 MB per extra 1080p
 * call). What the budget does is the overload phase's to measure.
 */
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { fmt } from "../stats.ts";
import { R1080, R720, type Resolution, type Series } from "../plan.ts";
import { cameraName } from "../rig/cameras.ts";
import type { Phase, PhaseContext } from "./phase.ts";
import { MEMORY_STILL_MB, memorySettled, settle } from "./settle.ts";

/**
 * An idle baseline: measured once the bot has given back what the last window's calls held (memorySettled), and
 * measured again once when its RSS still moved during the window (a baseline that falls inside its window is too
 * high, the memory per call against it too low). What ended calls held can come back after a still wait: in the run
 * of 2026-12-05 08:18 the window after 8 720p calls went 290 → 143 MB after 6 s of stillness; the others were flat.
 */
async function idleWindow(ctx: PhaseContext, res: Resolution, name: string, cameras: number): Promise<void> {
  const { rig, plan, results, say } = ctx;
  for (let attempt = 1; ; attempt++) {
    const t0 = performance.now();
    const still = await memorySettled();
    say(`${name}: the bot's memory ${still ? "held still" : "still moved"} after ${String(Math.round(performance.now() - t0))} ms`);
    if (!still) results.notes.push(`${name}: the bot's memory still moved after 30 s; measured as it was`);
    const w = await measureWindow(rig, { name, kind: "idle", resolution: res.name, calls: 0, cameras }, [], Math.min(5, plan.windowS));
    const bot = w.rssMB["bot"];
    const moved = bot !== undefined && bot.max - bot.mean > MEMORY_STILL_MB;
    if (moved) {
      const what = `${name}: the bot's RSS moved during the window (mean ${fmt(bot.mean, 1)} MB, max ${fmt(bot.max, 1)})`;
      results.notes.push(attempt === 1 ? `${what}; measured again` : what);
    }
    if (!moved || attempt === 2) {
      results.windows.push(w);
      return;
    }
  }
}

async function runSeries(ctx: PhaseContext, res: Resolution): Promise<void> {
  const { rig, plan, results } = ctx;
  const series = plan.series.find((s) => s.res === res);
  if (!series) {
    results.notes.push(`series ${res.name}: not in the ${plan.mode} plan`);
    return;
  }
  await rig.withoutEncodeBudget(() => seriesWindows(ctx, res, series));
}

async function seriesWindows(ctx: PhaseContext, res: Resolution, series: Series): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const cam0 = cameraName(res, 0);
  await rig.cameras.start(cam0);
  await rig.calls.pipelineStopped(cam0);
  await rig.cameras.idle(cam0);
  await idleWindow(ctx, res, `${res.name} bot idle`, 1);
  rig.cameras.markSessions([cam0]);
  const keys: string[] = [];
  const rooms: string[] = [];
  for (const n of series.calls) {
    while (keys.length < n) {
      const room = rig.rooms[keys.length];
      if (room === undefined) throw new Error("not enough rooms");
      keys.push((await rig.calls.place(room, cam0)).key);
      rooms.push(room);
    }
    await settle(ctx, keys);
    say(`${res.name}: ${n} call(s) on one camera, ${plan.windowS} s window`);
    const w = await measureWindow(
      rig,
      { name: `${res.name} bot, ${n} call(s), 1 camera`, kind: "bot", resolution: res.name, calls: n, cameras: 1 },
      [...keys],
      plan.windowS,
      {
        sourceCams: [cam0],
        senders: botSenders(rig.app, () => [...rooms]),
      },
    );
    w.rtspSessions = rig.cameras.sessionsSince([cam0]);
    results.windows.push(w);
  }
  await rig.calls.hangupAll();
  await rig.calls.pipelineStopped(cam0);

  const { calls, cameras } = series.multi;
  const names: string[] = [];
  for (let i = 0; i < cameras; i++) {
    names.push(cameraName(res, i));
    await rig.cameras.start(cameraName(res, i));
  }
  await idleWindow(ctx, res, `${res.name} bot idle (${String(cameras)} cameras up)`, cameras);
  rig.cameras.markSessions(names);
  const mkeys: string[] = [];
  const mrooms: string[] = [];
  for (let i = 0; i < calls; i++) {
    const room = rig.rooms[i];
    const cam = names[i % names.length];
    if (room === undefined || cam === undefined) throw new Error("not enough rooms");
    mkeys.push((await rig.calls.place(room, cam)).key);
    mrooms.push(room);
  }
  await settle(ctx, mkeys);
  say(`${res.name}: ${calls} calls over ${cameras} cameras, ${plan.windowS} s window`);
  const w = await measureWindow(
    rig,
    { name: `${res.name} bot, ${calls} calls, ${cameras} cameras`, kind: "bot", resolution: res.name, calls, cameras },
    mkeys,
    plan.windowS,
    {
      sourceCams: names,
      senders: botSenders(rig.app, () => mrooms),
    },
  );
  w.rtspSessions = rig.cameras.sessionsSince(names);
  results.windows.push(w);
  await rig.calls.hangupAll();
  for (const n of names) await rig.calls.pipelineStopped(n);
}

function seriesPhase(res: Resolution): Phase {
  return {
    name: `series-${String(res.height)}`,
    about: `${res.name}: 1→8 calls on one camera, then 8 calls over 4 cameras (fps, latency, CPU and memory per call)`,
    byDefault: true,
    run: (ctx) => runSeries(ctx, res),
  };
}

export const series720Phase = seriesPhase(R720);
export const series1080Phase = seriesPhase(R1080);
