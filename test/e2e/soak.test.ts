/**
 * Load and leaks, on real parts, with the bot as its own process (src/main.ts, so its memory and file descriptors are
 * its own and not the test's): 400 calls in a row (ring, answer, a few frames, hang up; the callee and the bot take
 * turns hanging up) leave no ffmpeg, no peer connection and no file descriptor behind, and memory levels off: from
 * call 100 on, the least-squares slopes (test/harness/trend.ts) of descriptors, of memory JS holds outside the heap,
 * of JS objects on the heap and of native memory (each after a full GC in the bot, with its cameras idle, every 20 calls) stay
 * under limits a leak of a fixed size per call exceeds; then 8 concurrent calls on 3 cameras (15 fps) stay up
 * for 90 s, each receiving at least 90 % of the source frame rate. MCC_SOAK_CALLS and MCC_SOAK_SECONDS shorten them
 * for a local try.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launcherEnv } from "../../bench/launcher-env.ts";
import type { BotProcess } from "../harness/bot-process.ts";
import type { IncomingCall } from "../harness/callee.ts";
import { memoryLines, readMemory, type Memory } from "../harness/bot-memory.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { reportFigure } from "../harness/figures.ts";
import { childrenNamed, FRONT_ENDS, readProcStat } from "../harness/proc-stats.ts";
import { startProcessRig, type ProcessRig } from "../harness/rig.ts";
import { waitFor } from "../harness/wait.ts";

const CALLS = Number(process.env["MCC_SOAK_CALLS"] ?? 400);
/**
 * The growth criterion is fitted over calls FIT_FROM..CALLS. Before that the allocator is still settling: RSS climbs
 * steeply over the first calls (150 → 188 → 208 MB after 0/30/100 calls in a CI run, then 209 after 200) and after 10
 * calls it varied by 10 MB from run to run, the V8 heap flat throughout.
 */
const FIT_FROM = Math.min(100, Math.floor(CALLS / 4));
/** Memory is sampled every SAMPLE_EVERY calls over the window (each sample costs ~2.5 s: cameras stop, full GC). */
const SAMPLE_EVERY = 20;
const SAMPLE_AT = new Set([10, 30, 60, CALLS]);
for (let c = FIT_FROM; c <= CALLS; c += SAMPLE_EVERY) SAMPLE_AT.add(c);
const SOAK_MS = Number(process.env["MCC_SOAK_SECONDS"] ?? 90) * 1000;
const FPS = 15;
const USERS = 8;
/** File descriptors the bot may have more after the run than at the start of the window (see the test). */
const FD_TOLERANCE = 4;
/** A leak of one descriptor in 50 calls (6 over the window) fails it; the keep-alive pool's ± 2 does not. */
const FD_SLOPE_LIMIT = 0.02;
/**
 * kB per call, fitted over the window (docs/reliability.md has the runs). Memory that JS holds outside the V8 heap
 * (Buffers, ArrayBuffers: frames, audio, wrtc's data) is counted exactly: it moved by 8 kB at most from call 30 to
 * 400 in the clean runs (slope 0.0), and read 20.0 kB/call with a 20 kB Buffer leaked per call.
 */
const EXTERNAL_SLOPE_LIMIT_KB = 2;
/**
 * JS objects on the V8 heap (compiled code left out: it grows while functions tier up, ~1 kB/call here, bounded by
 * the program's size; a heap snapshot diff over 130 calls showed nothing else growing). Clean runs: 0.14–0.17 kB/call;
 * with 20 kB of JS objects kept per call: 20.2.
 */
const HEAP_OBJECTS_SLOPE_LIMIT_KB = 1;
/**
 * Native memory, RSS without the V8 heap's resident pages (Theil–Sen slope): a guard against gross native growth,
 * such as a peer connection's native parts or a frame (640x360: 340 kB) kept per call, not a fine test. It moves in
 * steps with glibc keeping freed pages resident or giving them back, and a leak fills freed holes before RSS moves.
 * Until 2026-12-02 this was RSS's slope (clean runs 2.3 to 24.8 kB/call, a 20 kB Buffer leaked per call 5.3:
 * docs/reliability.md); then a run on a slower machine read 121 kB/call with RSS flat over its last 200 calls: V8
 * kept 25 MB more heap pages resident twice (at calls 160 and 200) while its objects stayed flat (0.6 kB/call) and
 * native memory grew 10.2 kB/call. V8's pages are bounded by its own limits; what they hold is the heap-objects test.
 */
const NATIVE_SLOPE_LIMIT_KB = 100;

/**
 * cam0, which the calls in a row use, is 640x360; cam1 and cam2 are 320x180. The concurrent test is about calls that
 * stay up and keep pace, not the encoder's ceiling (the bench's): with all three at 640x360, a machine whose VP8
 * encode took 12.2 ms a 720p frame (2.4 × the usual) gave the worst of the 8 calls 8.6 fps, the bot at 103 % of a core
 * beside the three test cameras and the callees' decoders on the same two cores (2026-12-02).
 */
// The third camera showed videotestsrc's "snow" (noise) until 2026-12-02: on the slower machine its two calls were the
// only ones under 90 % (13.2 and 12.6 fps, the other six 14.7–15.0), noise being the costliest picture for the test
// camera's x264, the bot's VP8 and the callees' decoders alike, all on the same two cores. A pinwheel is a third
// picture unlike the other two.
function sizeOf(camera: number): { width: number; height: number } {
  return camera === 0 ? { width: 640, height: 360 } : { width: 320, height: 180 };
}

let rig: ProcessRig;
let bot: BotProcess;

function perCamera(m: Map<string, number>, name: string): number[] {
  return [0, 1, 2].map((c) => m.get(`${name}{camera="cam${c}"}`) ?? NaN);
}

async function metric(name: string): Promise<number> {
  return (await bot.metrics()).get(name) ?? NaN;
}

async function idle(what: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    what,
    async () => {
      const m = await bot.metrics();
      return m.get("mcc_active_calls") === 0 && m.get("mcc_peer_connections") === 0;
    },
    { timeoutMs, intervalMs: 25 },
  );
}

/** The bot's camera front ends (ffmpeg or gst-launch-1.0 children). */
function frontEndChildren(): number {
  return childrenNamed(bot.pid, FRONT_ENDS).length;
}

/** CPU seconds (user + system) of the bot and its running camera front ends. */
function botCpuSeconds(): number {
  return [bot.pid, ...childrenNamed(bot.pid, FRONT_ENDS)].reduce((sum, pid) => sum + (readProcStat(pid)?.cpuS ?? 0), 0);
}

/** Everything idle (no call, no peer connection, cameras stopped), then a full GC in the bot, then its figures. */
async function settledMemory(): Promise<Memory> {
  await idle("the bot to be idle");
  await waitFor(
    "the cameras to stop after the idle grace",
    async () => (await metric("mcc_ffmpeg_processes")) === 0 && frontEndChildren() === 0,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  return readMemory(bot);
}

beforeAll(async () => {
  const cameras = [0, 1, 2];
  rig = await startProcessRig({
    name: "soak",
    botName: "soakbot",
    cameras: Object.fromEntries(
      cameras.map((c) => [
        `cam${c}`,
        { ...sizeOf(c), fps: FPS, audio: "pcma" as const, path: `soak${c}`, pattern: ["smpte", "ball", "pinwheel"][c] ?? "smpte" },
      ]),
    ),
    users: Array.from({ length: USERS }, (_, i) => `soak${i}`),
    dmTimeoutMs: 30_000,
    gc: true,
    // As the Docker image runs it (see docs/reliability.md): glibc's default of up to 8 malloc arenas per core lets
    // each call's encoder thread leave its freed memory in one more arena, so RSS climbs by tens of MB until all are
    // used, differently in every run; 2 arenas keep it near what is really in use. The fixed mmap threshold gives
    // the encoders' token buffers back to the system when a call ends (docs/benchmark.md). And with the launcher's
    // preload (native/zero-pages.c), so these ten minutes of calls run the memset it replaces. All read from
    // bin/matrix-camera-call, so the soak runs what users run.
    env: launcherEnv(),
    config: (ctx) => ({
      cameras: cameras.map((c) => ({
        name: `cam${c}`,
        url: ctx.cameras[`cam${c}`]?.url,
        maxWidth: sizeOf(c).width,
        maxHeight: sizeOf(c).height,
      })),
      calls: { maxPerUserPerMinute: 1000, maxConcurrent: USERS },
      media: { idleStopMs: 2000 },
    }),
  });
  bot = rig.botProcess;
}, 300_000);

afterAll(async () => {
  await rig.stop();
}, 120_000);

describeE2E("soak", () => {
  it(`${CALLS} calls in a row leave nothing behind; RSS, V8 heap and descriptors level off`, async () => {
    const callee = rig.callee("soak0");
    const dm = rig.dm("soak0");
    const durations: number[] = [];
    const samples: (Memory & { call: number })[] = [];
    // The launcher's preload is in the bot, as users run it (bootstrap installs the compiler that builds it).
    expect(readFileSync(`/proc/${String(bot.pid)}/maps`, "utf8")).toContain("zero-pages.so");
    // Before any call (reported, not asserted on: the first calls load code and libvpx, and size the allocator).
    const fresh = await settledMemory();
    const started = Date.now();
    for (let i = 0; i < CALLS; i++) {
      const t0 = Date.now();
      const call = await rig.ring("soak0", "cam0");
      await call.answer();
      await call.waitForFrames(3, 20_000);
      // The callee and the bot take turns hanging up.
      if (i % 2 === 0) call.hangup();
      else await callee.client.sendTextMessage(dm, "!hangup");
      await call.ended();
      await idle(`call ${i} released`);
      durations.push(Date.now() - t0);
      if (SAMPLE_AT.has(i + 1)) samples.push({ call: i + 1, ...(await settledMemory()) });
    }
    const runMs = Date.now() - started;
    const at = (call: number): Memory | undefined => samples.find((s) => s.call === call);
    const { rss, rssMedianSlope, native, nativeMedianSlope, heap, code, heapObjects, external, fds } = memoryLines(
      samples,
      FIT_FROM,
      CALLS,
    );
    const base = at(FIT_FROM);
    const end = at(CALLS);
    if (base === undefined || end === undefined) throw new Error("no sample at the start or the end of the window");
    const answered = await metric('mcc_calls_total{outcome="answered"}');
    durations.sort((a, b) => a - b);
    const r1 = (n: number): number => Math.round(n * 10) / 10;
    const r2 = (n: number): number => Math.round(n * 100) / 100;
    const mb = (kb: number | undefined): number | undefined => (kb === undefined ? undefined : r1(kb / 1024));
    reportFigure("soak: calls in a row", {
      calls: CALLS,
      runSeconds: Math.round(runMs / 1000),
      callMsMedian: durations[Math.floor(durations.length / 2)],
      callMsP95: durations[Math.floor(durations.length * 0.95)],
      window: `${FIT_FROM}-${CALLS}`,
      rssSlopeKbPerCall: r1(rss.slope),
      rssMedianSlopeKbPerCall: r1(rssMedianSlope),
      rssSlopeStdErr: r1(rss.slopeStdErr ?? NaN),
      rssNoiseMb: r1(rss.residualRms / 1024),
      heapObjectsSlopeKbPerCall: r2(heapObjects.slope),
      heapSlopeKbPerCall: r2(heap.slope),
      codeSlopeKbPerCall: r2(code.slope),
      nativeSlopeKbPerCall: r1(native.slope),
      nativeMedianSlopeKbPerCall: r1(nativeMedianSlope),
      externalSlopeKbPerCall: r1(external.slope),
      fdSlopePerCall: r2(fds.slope),
      rssMb: { before: mb(fresh.rssKb), ...Object.fromEntries([10, 30, 100, 200, 300, 400].map((c) => [c, mb(at(c)?.rssKb)])) },
      heapMb: { before: mb(fresh.heapKb), [FIT_FROM]: mb(base.heapKb), [CALLS]: mb(end.heapKb) },
      fds: {
        before: fresh.fds,
        [FIT_FROM]: base.fds,
        [CALLS]: end.fds,
        min: Math.min(...samples.map((s) => s.fds)),
        max: Math.max(...samples.map((s) => s.fds)),
      },
      samples: samples.map((s) => [s.call, s.rssKb, s.heapKb, s.codeKb, s.v8ResidentKb, s.externalKb, s.fds]),
      answered,
    });
    expect(answered).toBe(CALLS);
    expect(await metric("mcc_peer_connections")).toBe(0);
    expect(await metric("mcc_ffmpeg_processes")).toBe(0);
    expect(frontEndChildren()).toBe(0);
    // Open descriptors: sockets to Synapse in the HTTP client's keep-alive pool come and go with the requests in
    // flight (a sync long-poll, sends, member lists), so a few either way is noise; a leak is one or more per call.
    expect(end.fds - base.fds).toBeLessThanOrEqual(FD_TOLERANCE);
    expect(fds.slope).toBeLessThan(FD_SLOPE_LIMIT);
    expect(external.slope).toBeLessThan(EXTERNAL_SLOPE_LIMIT_KB);
    expect(heapObjects.slope).toBeLessThan(HEAP_OBJECTS_SLOPE_LIMIT_KB);
    expect(nativeMedianSlope).toBeLessThan(NATIVE_SLOPE_LIMIT_KB);
  }, 1_200_000);

  it(
    `8 concurrent calls on 3 cameras stay up for ${SOAK_MS / 1000} s, each at >= 90 % of the source frame rate`,
    async () => {
      const calls: IncomingCall[] = [];
      for (let i = 0; i < USERS; i++) calls.push(await rig.ring(`soak${i}`, `cam${i % 3}`));
      await Promise.all(calls.map((c) => c.answer()));
      await Promise.all(calls.map((c) => c.waitForFrames(30, 30_000)));
      expect(await metric("mcc_active_calls")).toBe(USERS);
      expect(await metric("mcc_ffmpeg_processes")).toBe(3);

      const framesIn = async (): Promise<number[]> => {
        const m = await bot.metrics();
        return [0, 1, 2].map((c) => m.get(`mcc_camera_frames_in_total{camera="cam${c}"}`) ?? NaN);
      };
      const start = { at: Date.now(), frames: calls.map((c) => c.video().frames), cameraFrames: await framesIn(), cpu: botCpuSeconds() };
      const windows: number[][] = [];
      let last = { at: start.at, frames: start.frames };
      await waitFor(
        "the soak to run its course, every call up",
        () => {
          const ended = calls.findIndex((c) => c.isEnded());
          if (ended >= 0) throw new Error(`call ${ended} ended during the soak`);
          const now = Date.now();
          if (now - last.at >= 30_000) {
            const frames = calls.map((c) => c.video().frames);
            windows.push(frames.map((f, i) => ((f - (last.frames[i] ?? 0)) * 1000) / (now - last.at)));
            last = { at: now, frames };
          }
          return now - start.at >= SOAK_MS;
        },
        { timeoutMs: SOAK_MS + 60_000, intervalMs: 1000 },
      );
      const seconds = (Date.now() - start.at) / 1000;
      const fps = calls.map((c, i) => (c.video().frames - (start.frames[i] ?? 0)) / seconds);
      const cameraFps = (await framesIn()).map((f, i) => (f - (start.cameraFrames[i] ?? 0)) / seconds);
      const round = (n: number): number => Math.round(n * 10) / 10;
      const cpuPercent = ((botCpuSeconds() - start.cpu) / seconds) * 100;
      reportFigure("soak: 8 concurrent calls on 3 cameras", {
        seconds: Math.round(seconds),
        sourceFps: FPS,
        cameraInputFps: cameraFps.map(round),
        callFps: fps.map(round),
        worst30sWindowFps: round(Math.min(...windows.flat())),
        botCpuPercentOfOneCore: Math.round(cpuPercent),
        framesDropped: perCamera(await bot.metrics(), "mcc_camera_frames_dropped_total"),
        resyncs: perCamera(await bot.metrics(), "mcc_camera_resyncs_total"),
        lagSeconds: perCamera(await bot.metrics(), "mcc_camera_lag_seconds"),
      });
      // Keeping up, no camera was restarted for running behind (a false alarm would cost its calls a second of video).
      expect(perCamera(await bot.metrics(), "mcc_camera_resyncs_total")).toEqual([0, 0, 0]);
      expect(calls.every((c) => !c.isEnded())).toBe(true);
      expect(await metric("mcc_active_calls")).toBe(USERS);
      for (const f of fps) expect(f).toBeGreaterThanOrEqual(FPS * 0.9);

      for (const c of calls) c.hangup();
      await idle("every call released", 30_000);
      await waitFor("the cameras stopped", async () => (await metric("mcc_ffmpeg_processes")) === 0 && frontEndChildren() === 0, {
        timeoutMs: 15_000,
        intervalMs: 100,
      });
    },
    SOAK_MS + 300_000,
  );
});
