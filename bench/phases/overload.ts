/**
 * What calls get when there are more than the cores encode at full size (issue 14 item 5): 720p25 calls on one
 * camera (1, 4, 8), then calls over several cameras, each call's delivered size and frame rate. The bot's encode
 * budget (media.encodeMegapixelsPerCore, default 60 per core: 4 × 720p25 on 2 cores, lowered on a machine whose
 * calls measure slower encoding) keeps a single call at full size and rate and scales the picture of the cameras with
 * the most calls down when more would not fit, keeping the rate. Each window records the budget in force.
 */
import { readFileSync } from "node:fs";
import { waitFor } from "../../test/harness/wait.ts";
import { botSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { R720 } from "../plan.ts";
import type { WindowResult } from "../report/results.ts";
import { cameraName } from "../rig/cameras.ts";
import { fmt } from "../stats.ts";
import type { Phase, PhaseContext } from "./phase.ts";
import { settle } from "./settle.ts";

/**
 * The kernel's count of UDP datagrams dropped because a socket's receive buffer was full (all processes: a hint, not
 * a figure of the bot alone). The bench's receiver decodes every call on the same two cores; when it falls behind, its
 * sockets overflow and the calls see loss, NACKs and keyframe requests that have nothing to do with the bot.
 */
function udpRcvbufErrors(): number | undefined {
  const lines = readFileSync("/proc/net/snmp", "utf8")
    .split("\n")
    .filter((l) => l.startsWith("Udp: "));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  const i = names?.indexOf("RcvbufErrors") ?? -1;
  const v = i >= 0 ? Number(values?.[i]) : Number.NaN;
  return Number.isFinite(v) ? v : undefined;
}

/** One window over `calls` (room, camera, key), with each call's size at the receiver at its end. */
async function window(
  ctx: PhaseContext,
  name: string,
  calls: { room: string; cam: string; key: string }[],
  cams: string[],
): Promise<WindowResult> {
  const { rig, plan, say } = ctx;
  await settle(
    ctx,
    calls.map((c) => c.key),
  );
  say(`overload: ${name}, ${plan.windowS} s window`);
  const drops0 = udpRcvbufErrors();
  const w = await measureWindow(
    rig,
    { name: `overload: ${name}`, kind: "overload", resolution: R720.name, calls: calls.length, cameras: cams.length },
    calls.map((c) => c.key),
    plan.windowS,
    { sourceCams: cams, senders: botSenders(rig.app, () => calls.map((c) => c.room)) },
  );
  const drops1 = udpRcvbufErrors();
  const drops = drops0 !== undefined && drops1 !== undefined ? drops1 - drops0 : undefined;
  w.encodeBudget = rig.app.hub.encodeBudget();
  w.perCallSize = calls.map((c) => {
    const s = rig.receiver.streams.get(c.key);
    return s && s.width > 0 ? `${String(s.width)}x${String(s.height)}` : "–";
  });
  const lines = calls.map((c, i) => `  call ${String(i + 1)} (${c.cam}): ${w.perCallSize?.[i] ?? "–"} at ${fmt(w.fps.perCall[i], 1)} fps`);
  const limited = Object.entries(w.webrtc?.qualityLimitation ?? {})
    .map(([why, n]) => `${String(n)} ${why}`)
    .join(", ");
  say(
    [
      `overload: ${name}: encode budget ${fmt(w.encodeBudget / 1e6)} Mpx/s, bot CPU ${fmt(w.cpu["bot"])} % of a core, latency p50 ${fmt(w.latency.p50)} ms, encoder ${fmt(w.webrtc?.encodedFps, 1)} fps a stream (limited: ${limited || "–"}); UDP datagrams dropped by full receive buffers (machine-wide) ${fmt(drops)}, receiver NACKs ${fmt(w.webrtc?.nacks)}`,
      ...lines,
    ].join("\n"),
  );
  return w;
}

async function runOverload(ctx: PhaseContext): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const cam0 = cameraName(R720, 0);
  await rig.cameras.start(cam0);
  const calls: { room: string; cam: string; key: string }[] = [];
  for (const n of plan.overload.calls) {
    while (calls.length < n) {
      const room = rig.rooms[calls.length];
      if (room === undefined) throw new Error("not enough rooms");
      calls.push({ room, cam: cam0, key: (await rig.calls.place(room, cam0)).key });
    }
    results.windows.push(await window(ctx, `${String(n)} call(s), 1 camera`, calls, [cam0]));
  }
  // The same calls without the budget (what every call got before it), then with it again.
  results.windows.push(
    await rig.withoutEncodeBudget(() => window(ctx, `${String(calls.length)} call(s), 1 camera, no encode budget`, calls, [cam0])),
  );
  // Back to full size once the load drops: all calls but the first end; how long until it shows 1280x720 again.
  const [first, ...rest] = calls;
  if (first !== undefined && rest.length > 0) {
    const last = rest.pop();
    for (const c of rest) await rig.calls.hangup(c.room);
    // From the last hang-up's start (it includes the hang-up's round trip through Synapse).
    const t0 = performance.now();
    if (last !== undefined) await rig.calls.hangup(last.room);
    const back = await waitFor(
      "the remaining call back at full size",
      () => (rig.receiver.streams.get(first.key)?.width ?? 0) >= R720.width || undefined,
      { timeoutMs: 10_000, intervalMs: 20 },
    ).then(
      () => performance.now() - t0,
      () => undefined,
    );
    results.figures.push({
      what: `overload: ${String(calls.length)} calls → 1, the remaining call back at full size (from the last hang-up)`,
      value: back,
      unit: "ms",
    });
    say(`overload: ${String(calls.length)} calls → 1: full size again after ${fmt(back)} ms`);
  }
  await rig.calls.hangupAll();
  await rig.calls.pipelineStopped(cam0);

  const { calls: m, cameras } = plan.overload.multi;
  const names = Array.from({ length: cameras }, (_, i) => cameraName(R720, i));
  for (const n of names) await rig.cameras.start(n);
  const multi: { room: string; cam: string; key: string }[] = [];
  for (let i = 0; i < m; i++) {
    const room = rig.rooms[i];
    const cam = names[i % names.length];
    if (room === undefined || cam === undefined) throw new Error("not enough rooms");
    multi.push({ room, cam, key: (await rig.calls.place(room, cam)).key });
  }
  results.windows.push(await window(ctx, `${String(m)} calls, ${String(cameras)} cameras`, multi, names));
  await rig.calls.hangupAll();
  for (const n of names) await rig.calls.pipelineStopped(n);
}

export const overloadPhase: Phase = {
  name: "overload",
  about: "720p25: 1, 4, 8 calls on one camera, then 8 over several cameras: each call's size and fps (the encode budget)",
  byDefault: true,
  run: runOverload,
};
