/**
 * MatrixRTC calls in a row leave nothing behind, with the bot as its own process (its memory and descriptors its own;
 * the callee's rtc-node is the test's): a real Synapse, a real livekit-server, the /sfu/get test service, a GStreamer
 * RTSP camera. Each call: `!call cam` rings alice (ringVia matrixrtc), she joins as Element X does (LiveKit, then her
 * call.member), her subscriber decodes frames, the call ends (alice leaving and `!hangup` take turns), and the bot's
 * membership is `{}`, the bot has left LiveKit, /metrics counts no call (it counted this one) and the camera has stopped. Afterwards LiveKit has nobody in the room,
 * no promise was rejected unhandled, and from call FIT_FROM on the bot's open descriptors, the memory JS holds outside
 * the V8 heap and the JS objects on it (each after a full GC in the bot, the camera stopped) stay level: rtc-node's
 * Rooms, tracks and sources are native objects behind JS handles, so a call whose handles stay reachable shows here.
 * rtc-node itself runs in the bot's LiveKit process (livekit-process.ts), where it keeps about half a megabyte a
 * call for good: that process is replaced after RETIRE_AFTER_CALLS calls, so over the soak it is replaced, and the
 * bot with its LiveKit process holds no more at the end than at the window's start.
 * MCC_RTC_SOAK_CALLS shortens it for a local try.
 */
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RETIRE_AFTER_CALLS } from "../../src/matrixrtc/livekit-host.ts";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { CALL_MEMBER_TYPE, membershipStateKey, RTC_NOTIFICATION_TYPE } from "../../src/matrixrtc/rtc-wire.ts";
import { launcherEnv } from "../../bench/launcher-env.ts";
import { memoryLines, readMemory, type Memory } from "../harness/bot-memory.ts";
import { childrenNamed, readProcStat } from "../harness/proc-stats.ts";
import type { BotProcess } from "../harness/bot-process.ts";
import { reportFigure } from "../harness/figures.ts";
import { liveKitBinary } from "../harness/livekit.ts";
import { LiveKitSubscriber } from "../harness/livekit-subscriber.ts";
import type { ProcessRig } from "../harness/rig.ts";
import { joinAsElementX, leaveAsElementX } from "../harness/rtc-member.ts";
import { startRtcProcessRig, type RtcRig } from "../harness/rtc-rig.ts";
import { liveKitRoomFor } from "../harness/sfu-token-service.ts";
import { waitFor } from "../harness/wait.ts";

const found = liveKitBinary();
if ("skip" in found) process.stderr.write(`${found.skip}\n`);

const CALLS = Number(process.env["MCC_RTC_SOAK_CALLS"] ?? 80);
/**
 * The first calls load code and size the allocators (rtc-node's runtime, libvpx): RSS 187–209 MB before the first call,
 * 222–235 MB after 20; the V8 heap still drops by 3 MB between calls 20 and 30 (code settling). The window starts after.
 */
const FIT_FROM = Math.min(30, Math.floor(CALLS / 2));
const SAMPLE_EVERY = 10;
/** Limits per call, over the window (the figures of the runs: docs/reliability.md). */
const FD_TOLERANCE = 4;
const FD_SLOPE_LIMIT = 0.1;
const EXTERNAL_SLOPE_LIMIT_KB = 5;
const HEAP_OBJECTS_SLOPE_LIMIT_KB = 5;
/**
 * Native memory (RSS less V8's resident pages) of the bot. It grew 330–560 kB a call (2026-12-04) while rtc-node ran
 * in the bot: rtc-node 1.1's own leak (bench/rtc-node-rooms.ts; upstream livekit/node-sdks#514, open). Now the bot
 * holds no rtc-node, and the legacy soak's limit applies.
 */
const NATIVE_SLOPE_LIMIT_KB = 100;
/** The bot and its LiveKit process at the end against the window's start (a fresh LiveKit process against a worn one). */
const TOTAL_RSS_TOLERANCE_KB = 20_000;

let rtc: RtcNode;
let started: RtcRig<ProcessRig> | undefined;
let rig: ProcessRig;
let bot: BotProcess;

async function metric(name: string): Promise<number> {
  return (await bot.metrics()).get(name) ?? NaN;
}

async function botMembership(dm: string): Promise<unknown> {
  const key = membershipStateKey(rig.bot.userId, rig.bot.deviceId);
  const res = await fetch(
    `${rig.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/state/${CALL_MEMBER_TYPE}/${encodeURIComponent(key)}`,
    { headers: { authorization: `Bearer ${rig.user("alice").accessToken}` } },
  );
  return res.status === 200 ? await res.json() : undefined;
}

/** The bot's LiveKit processes now (one, or two while a worn one is let go) with their RSS in kB. */
function liveKitProcesses(): { pid: number; rssKb: number }[] {
  return childrenNamed(bot.pid, "mcc-livekit").map((pid) => ({ pid, rssKb: Math.round((readProcStat(pid)?.rssBytes ?? 0) / 1024) }));
}

/** The camera stopped (the rig's idleStopMs is 0), then a full GC in the bot, then its figures. */
async function settledMemory(): Promise<Memory> {
  await waitFor("the camera stopped", async () => (await metric("mcc_ffmpeg_processes")) === 0, { timeoutMs: 15_000, intervalMs: 100 });
  return readMemory(bot);
}

describe.skipIf("skip" in found)("MatrixRTC soak", () => {
  beforeAll(async () => {
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    rtc = loaded.rtc;
    started = await startRtcProcessRig("rtc-soak", "rtcsoakbot", {
      // As the launcher runs it (bin/matrix-camera-call): the soak's bot does too.
      env: launcherEnv(),
      config: () => ({ matrixRtc: { ringVia: "matrixrtc" } }),
    });
    rig = started.rig;
    bot = rig.botProcess;
  }, 300_000);

  afterAll(async () => {
    await started?.stop();
  }, 120_000);

  it(`${String(CALLS)} MatrixRTC calls in a row leave nothing behind; descriptors and JS memory level off`, async () => {
    if (started === undefined) throw new Error("no rig");
    const { dm, service, lk } = started;
    const callee = rig.callee("alice");
    const botIdentity = `${rig.bot.userId}:${rig.bot.deviceId}`;
    const rings = (): number =>
      (callee.client.getRoom(dm)?.getLiveTimeline().getEvents() ?? []).filter((e) => e.getType() === RTC_NOTIFICATION_TYPE).length;
    const samples: (Memory & { call: number; liveKitKb: number })[] = [];
    const liveKitPids = new Set<number>();
    const durations: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = Date.now();
      const before = rings();
      await callee.client.sendTextMessage(dm, "!call cam");
      await waitFor(`call ${String(i)}: the ring`, () => rings() > before, { timeoutMs: 20_000 });
      const subscriber = new LiveKitSubscriber(rtc);
      try {
        await joinAsElementX(rig, "alice", dm, service.url, subscriber);
        await waitFor(`call ${String(i)}: frames at alice`, () => subscriber.video.frames >= 3, { timeoutMs: 20_000 });
        // /metrics counts the MatrixRTC call among the calls in progress.
        expect(await metric("mcc_active_calls")).toBe(1);
        for (const p of liveKitProcesses()) liveKitPids.add(p.pid);
        // /metrics reports the LiveKit process's memory while it runs.
        expect(await metric("mcc_livekit_process_resident_bytes")).toBeGreaterThan(20e6);
        // Alice leaving and `!hangup` take turns ending the call.
        if (i % 2 === 0) await leaveAsElementX(rig, "alice", dm);
        else await callee.client.sendTextMessage(dm, "!hangup");
        await waitFor(`call ${String(i)}: the bot's membership emptied`, async () => JSON.stringify(await botMembership(dm)) === "{}", {
          timeoutMs: 20_000,
        });
        await waitFor(`call ${String(i)}: the bot out of LiveKit`, () => !subscriber.sees(botIdentity), { timeoutMs: 15_000 });
        await waitFor(`call ${String(i)}: no call in progress`, async () => (await metric("mcc_active_calls")) === 0, {
          timeoutMs: 15_000,
        });
      } finally {
        await subscriber.stop();
        if (i % 2 === 1) await leaveAsElementX(rig, "alice", dm);
      }
      durations.push(Date.now() - t0);
      const call = i + 1;
      if (call === 1 || (call >= FIT_FROM && (call - FIT_FROM) % SAMPLE_EVERY === 0) || call === CALLS) {
        const memory = await settledMemory();
        // A worn LiveKit process is let go (livekit-host.ts) and has exited once that settles; the next call starts one.
        await waitFor(`call ${String(call)}: at most one LiveKit process`, () => liveKitProcesses().length <= 1, { timeoutMs: 20_000 });
        samples.push({ call, ...memory, liveKitKb: liveKitProcesses().reduce((sum, p) => sum + p.rssKb, 0) });
        // After the call that wore it out, none runs, and /metrics says 0.
        if (call % RETIRE_AFTER_CALLS === 0) expect(await metric("mcc_livekit_process_resident_bytes")).toBe(0);
      }
    }
    // LiveKit closes a room its last participant left (after its empty timeout): then nobody is in it.
    const participants = await new RoomServiceClient(lk.httpUrl, lk.apiKey, lk.apiSecret)
      .listParticipants(liveKitRoomFor(dm))
      .catch((err: unknown) => {
        if (String(err).includes("does not exist")) return [];
        throw err;
      });
    const { native, nativeMedianSlope, heapObjects, external, fds, rss } = memoryLines(samples, FIT_FROM, CALLS);
    const base = samples.find((s) => s.call === FIT_FROM);
    const end = samples.at(-1);
    if (base === undefined || end === undefined) throw new Error("no sample at the start or the end of the window");
    durations.sort((a, b) => a - b);
    const r1 = (n: number): number => Math.round(n * 10) / 10;
    reportFigure("matrixrtc soak: calls in a row", {
      calls: CALLS,
      window: `${String(FIT_FROM)}-${String(CALLS)}`,
      callMsMedian: durations[Math.floor(durations.length / 2)],
      callMsP95: durations[Math.floor(durations.length * 0.95)],
      rssSlopeKbPerCall: r1(rss.slope),
      nativeSlopeKbPerCall: r1(native.slope),
      nativeMedianSlopeKbPerCall: r1(nativeMedianSlope),
      heapObjectsSlopeKbPerCall: r1(heapObjects.slope),
      externalSlopeKbPerCall: r1(external.slope),
      fdSlopePerCall: Math.round(fds.slope * 100) / 100,
      samples: samples.map((s) => [s.call, s.rssKb, s.heapKb, s.codeKb, s.v8ResidentKb, s.externalKb, s.fds, s.liveKitKb]),
      liveKitProcesses: liveKitPids.size,
    });
    expect(participants.map((p) => p.identity)).toEqual([]);
    expect(await metric("mcc_unhandled_rejections_total")).toBe(0);
    expect(end.fds - base.fds).toBeLessThanOrEqual(FD_TOLERANCE);
    expect(fds.slope).toBeLessThan(FD_SLOPE_LIMIT);
    expect(external.slope).toBeLessThan(EXTERNAL_SLOPE_LIMIT_KB);
    expect(heapObjects.slope).toBeLessThan(HEAP_OBJECTS_SLOPE_LIMIT_KB);
    expect(nativeMedianSlope).toBeLessThan(NATIVE_SLOPE_LIMIT_KB);
    // Calls ran in a new LiveKit process once the first was worn, and rtc-node's memory went with the old one.
    expect(liveKitPids.size).toBe(Math.ceil(CALLS / RETIRE_AFTER_CALLS));
    expect(end.rssKb + end.liveKitKb).toBeLessThan(base.rssKb + base.liveKitKb + TOTAL_RSS_TOLERANCE_KB);
  }, 1_200_000);
});
