/**
 * `npm run bench` — measures the media path of the bot end to end on real parts: a real Synapse (test/harness/synapse.ts),
 * stamped RTSP cameras (bench/stamp_camera.py), the bot started in-process with startApp from a real YAML config, and a
 * receiver in a separate process (bench/receiver.ts) answering with matrix-js-sdk and reading every frame's stamp.
 *
 *   npm run bench                 full run (well under 20 minutes on 2 cores)
 *   npm run bench -- --quick      ~2-minute smoke: short windows, 720p only, fewer calls
 *   npm run bench -- --drift      adds a 10-minute single-call run split into minutes
 *
 * Prints a table and writes bench-results/<date>.json (logs of the bot and the receiver beside it).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { startApp, type App } from "../src/app.ts";
import { loadConfigFile } from "../src/config/load.ts";
import { freePort } from "../src/dev/local-synapse.ts";
import { startSynapse, type SynapseHandle } from "../test/harness/synapse.ts";
import { waitFor } from "../test/harness/wait.ts";
import { Viewer } from "./matrix.ts";
import { startDecodeFloor, startReferenceCall, SyntheticSource, type ReferenceCall } from "./pipelines.ts";
import { openPlainLink, type PlainLink } from "./plain-link.ts";
import { childrenNamed, readProcStat, UsageWindow, type GroupUsage, type ProcGroup } from "../test/harness/proc-stats.ts";
import type { InboundVideoStats } from "./protocol.ts";
import { ReceiverClient, type StreamRecord } from "./receiver-client.ts";
import { startStampCamera, type StampCamera } from "./stamp-camera.ts";
import { nowMs, readStamp } from "./stamp.ts";
import { fmt, max, mean, median, summarizeLatency, type LatencySummary } from "./stats.ts";

// ---------------------------------------------------------------------------------------------------------------------
// Plan

const argv = process.argv.slice(2);
const QUICK = argv.includes("--quick");
const DRIFT = argv.includes("--drift");
for (const a of argv) {
  if (a !== "--quick" && a !== "--drift") {
    process.stderr.write(`unknown flag ${a} (use --quick, --drift)\n`);
    process.exit(2);
  }
}

const FPS = 25;
interface Resolution {
  name: string;
  width: number;
  height: number;
}
const R720: Resolution = { name: "720p25", width: 1280, height: 720 };
const R1080: Resolution = { name: "1080p25", width: 1920, height: 1080 };

const PLAN = QUICK
  ? {
      latencyWindowS: 15,
      windowS: 6,
      settleMs: 2_000,
      ttffRepeats: 2,
      series: [{ res: R720, calls: [1, 2], multi: { calls: 2, cameras: 2 } }],
      referenceCalls: [1],
      referenceLatencyWindowS: 10,
      decodeFloors: [R720],
      encodeK: [0, 1],
      floorWindowS: 6,
      deadlineMs: 10 * 60_000,
    }
  : {
      latencyWindowS: 60,
      windowS: 20,
      settleMs: 3_000,
      ttffRepeats: 5,
      series: [
        { res: R720, calls: [1, 2, 4, 8], multi: { calls: 8, cameras: 4 } },
        { res: R1080, calls: [1, 2, 4, 8], multi: { calls: 8, cameras: 4 } },
      ],
      referenceCalls: [1, 2, 4, 8],
      referenceLatencyWindowS: 60,
      decodeFloors: [R720, R1080],
      encodeK: [0, 1, 2],
      floorWindowS: 15,
      deadlineMs: 40 * 60_000,
    };
const DRIFT_MINUTES = 10;
const CAMERAS_PER_RES = Math.max(1, ...PLAN.series.map((s) => s.multi.cameras));
const MAX_CALLS = Math.max(2, ...PLAN.series.flatMap((s) => [...s.calls, s.multi.calls]));

// ---------------------------------------------------------------------------------------------------------------------
// Output

const started = Date.now();
function say(text: string): void {
  const s = ((Date.now() - started) / 1000).toFixed(0).padStart(4);
  process.stdout.write(`[${s}s] ${text}\n`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

// ---------------------------------------------------------------------------------------------------------------------
// Results

interface WindowResult {
  name: string;
  kind: "bot" | "bot-audio" | "reference" | "camera-floor" | "decode-floor" | "encode-floor" | "idle";
  resolution: string;
  calls: number;
  cameras: number;
  windowS: number;
  /** Delivered size at the receiver (the last frame of each stream in the window; distinct values). */
  delivered: string[];
  fps: { min: number | undefined; mean: number | undefined; perCall: number[] };
  latency: LatencySummary;
  cpu: Record<string, number>;
  rssMB: Record<string, { mean: number; max: number }>;
  processes: Record<string, number>;
  /** RTSP sessions the camera(s) saw opened since the scenario began, per camera. */
  rtspSessions?: number[];
  /**
   * At the bot's RTCVideoSource input (a tap on each camera pipeline's video.onFrame, in the bot process): frames
   * handed to wrtc per second (per camera, min) and their latency since capture; frames the splitter skipped.
   */
  source?: { fpsMin: number | undefined; latency: LatencySummary; splitterDropped: number; perCamera: { camera: string; fps: number; p50: number | undefined; p95: number | undefined }[] };
  /** From getStats() deltas over the window: sender (bot or local) outbound video and receiver inbound video. */
  webrtc?: WebrtcBreakdown;
  /** Event-loop delay of the bot's (the bench process's) main thread over the window, ms. */
  loopDelayMs?: { p50: number; p99: number; max: number };
  extra?: Record<string, unknown>;
}

interface WebrtcBreakdown {
  /** Sender: encode time per encoded frame, ms; frames encoded per second per stream; pacer delay per packet, ms. */
  encodeMs: number | undefined;
  encodedFps: number | undefined;
  pacerMsPerPacket: number | undefined;
  /** Sender: streams by qualityLimitationReason at the end of the window. */
  qualityLimitation: Record<string, number>;
  /** Receiver: jitter-buffer time per emitted frame; first packet → decoded per frame; decode time per frame, ms. */
  jitterBufferMs: number | undefined;
  processingMs: number | undefined;
  decodeMs: number | undefined;
  framesDroppedAtReceiver: number;
  nacks: number;
  plis: number;
}

interface TtffResult {
  name: string;
  /** Per attempt, ms. */
  answerToFirstFrame: number[];
  callToFirstFrame: number[];
  callToRing: number[];
  answerToBotConnecting: number[];
  answerToBotConnected: number[];
  callToCameraFirstFrame: number[];
  /** matrix-js-sdk's answer() call → resolved (media, answer SDP, m.call.answer sent). */
  answerCall: number[];
  firstSizes: string[];
}

const results: { windows: WindowResult[]; ttff: TtffResult[]; drift: WindowResult[]; notes: string[]; errors: string[] } = {
  windows: [],
  ttff: [],
  drift: [],
  notes: [],
  errors: [],
};

// ---------------------------------------------------------------------------------------------------------------------
// Resources (all stopped in `cleanup`, also on error and on signals)

let synapse: SynapseHandle | undefined;
let app: App | undefined;
let receiver: ReceiverClient | undefined;
const cameras = new Map<string, { cam: StampCamera; keeper: ChildProcess; sessionsBase: number }>();
const keeperPids = new Set<number>();
const referenceCalls: ReferenceCall[] = [];
const plainLinks: PlainLink[] = [];
let synthetic: SyntheticSource | undefined;

process.on("exit", () => {
  // Last resort: no ffmpeg child outlives the benchmark (cameras and the receiver have their own exit hooks).
  for (const pid of childrenNamed(process.pid, "ffmpeg")) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

let cleaningUp: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaningUp ??= (async () => {
    const step = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
      try {
        await fn();
      } catch (err: unknown) {
        results.errors.push(`cleanup ${what}: ${errorText(err)}`);
      }
    };
    synthetic?.stop();
    for (const l of plainLinks.splice(0)) await step("plain link", () => { l.close(); });
    for (const r of referenceCalls.splice(0)) await step("reference call", () => r.stop());
    await step("receiver", () => receiver?.stop());
    await step("bot", () => app?.stop());
    for (const [name, c] of cameras) {
      await step(`camera ${name}`, async () => {
        c.keeper.kill("SIGTERM");
        await c.cam.stop();
      });
    }
    cameras.clear();
    await step("synapse", () => synapse?.stop());
  })();
  return cleaningUp;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping everything`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers

function ffmpegPath(): string {
  if (!app) throw new Error("bot not started");
  return app.ffmpeg.path;
}

function cameraName(res: Resolution, i: number): string {
  return `c${res.height}-${i}`;
}

const NO_AUDIO_CAMERA = "c720-0-noaudio";

/** Ports chosen up front so that the bot's config can list every camera; a camera is only started when needed. */
const cameraPorts = new Map<string, number>();

async function startCamera(res: Resolution, i: number): Promise<void> {
  const name = cameraName(res, i);
  if (cameras.has(name)) return;
  const port = cameraPorts.get(name);
  if (port === undefined) throw new Error(`no port for ${name}`);
  const cam = await startStampCamera({ width: res.width, height: res.height, fps: FPS, port });
  // A real IP camera streams all the time: one client that only copies keeps the shared pipeline playing, so a new
  // client joins mid-GOP as it would on a camera (not on a freshly started encoder that begins with a keyframe).
  const keeper = spawn(ffmpegPath(), ["-hide_banner", "-loglevel", "quiet", "-rtsp_transport", "tcp", "-i", cam.url, "-map", "0", "-c", "copy", "-f", "null", "-"], { stdio: ["ignore", "ignore", "ignore"] });
  if (keeper.pid !== undefined) keeperPids.add(keeper.pid);
  await waitFor(`the keeper's RTSP session on ${name}`, () => cam.sessionsOpened() >= 1, { timeoutMs: 15_000 });
  cameras.set(name, { cam, keeper, sessionsBase: cam.sessionsOpened() });
}

async function stopCamera(name: string): Promise<void> {
  const c = cameras.get(name);
  if (!c) return;
  cameras.delete(name);
  c.keeper.kill("SIGTERM");
  await c.cam.stop();
}

function markSessions(names: string[]): void {
  for (const n of names) {
    const c = cameras.get(n);
    if (c) c.sessionsBase = c.cam.sessionsOpened();
  }
}

function sessionsSince(names: string[]): number[] {
  return names.map((n) => {
    const c = cameras.get(n);
    return c ? c.cam.sessionsOpened() - c.sessionsBase : -1;
  });
}

function groups(): ProcGroup[] {
  return [
    { name: "bot", pids: () => [process.pid, ...childrenNamed(process.pid, "ffmpeg").filter((p) => !keeperPids.has(p))] },
    { name: "botFfmpeg", pids: () => childrenNamed(process.pid, "ffmpeg").filter((p) => !keeperPids.has(p)) },
    { name: "receiver", pids: () => (receiver ? [receiver.pid] : []) },
    { name: "cameras", pids: () => [...cameras.values()].flatMap((c) => [c.cam.pid, ...(c.keeper.pid !== undefined ? [c.keeper.pid] : [])]) },
  ];
}

interface CallHandle {
  roomId: string;
  camera: string;
  key: string;
  record: StreamRecord;
  saidAt: number;
  botConnectingAt: number | undefined;
  botConnectedAt: number | undefined;
  cameraFirstFrameAt: number | undefined;
}

/** Frames handed to each camera's RTCVideoSource in the bot: arrival time and latency since capture (bounded). */
const taps = new Map<string, { at: number[]; latency: number[] }>();
const TAP_MAX = 200_000;

/**
 * Wraps each pipeline's `video.onFrame` (an own property shadowing wrtc's method; the bot's code is unchanged) to
 * read the stamp of every frame the bot hands to wrtc: a few hundred pixel reads per frame, in the bot's thread.
 */
function installTaps(bot: App): void {
  for (const name of bot.hub.names()) {
    const source = bot.hub.pipeline(name)?.video;
    if (!source) continue;
    const tap = { at: [] as number[], latency: [] as number[] };
    taps.set(name, tap);
    const original = source.onFrame.bind(source);
    const tapped: typeof source.onFrame = (frame) => {
      const at = nowMs();
      const stamp = readStamp(frame);
      if (tap.at.length < TAP_MAX) {
        tap.at.push(at);
        tap.latency.push(stamp ? at - stamp.ms : Number.NaN);
      }
      original(frame);
    };
    // wrtc's onFrame is a read-only property of the prototype: define an own one on this instance.
    Object.defineProperty(source, "onFrame", { value: tapped, configurable: true, writable: true });
  }
}

function splitterDropped(): number {
  if (!app) return 0;
  return Object.values(app.hub.stats()).reduce((sum, st) => sum + st.framesDropped, 0);
}

function sourceStats(cams: string[], t0: number, t1: number, dropped: number): NonNullable<WindowResult["source"]> {
  const lat: number[] = [];
  const fps: number[] = [];
  const perCamera: NonNullable<WindowResult["source"]>["perCamera"] = [];
  for (const cam of cams) {
    const tap = taps.get(cam);
    if (!tap) continue;
    const own: number[] = [];
    for (let i = 0; i < tap.at.length; i++) {
      const at = tap.at[i] ?? 0;
      if (at < t0 || at > t1) continue;
      own.push(tap.latency[i] ?? Number.NaN);
    }
    lat.push(...own);
    const f = own.length / ((t1 - t0) / 1000);
    fps.push(f);
    const sum = summarizeLatency(own);
    perCamera.push({ camera: cam, fps: f, p50: sum.p50, p95: sum.p95 });
  }
  return { fpsMin: fps.length > 0 ? Math.min(...fps) : undefined, latency: summarizeLatency(lat), splitterDropped: dropped, perCamera };
}

let viewer: Viewer | undefined;
let rooms: string[] = [];
const activeCalls = new Map<string, CallHandle>();

/** `!call <camera>` in a room; resolves at the first decoded frame at the receiver (which answers at once). */
async function placeCall(roomId: string, camera: string): Promise<CallHandle> {
  if (!app || !receiver || !viewer) throw new Error("not set up");
  const bot = app;
  const recv = receiver;
  const before = recv.callInRoom(roomId)?.key;
  const handle: Partial<CallHandle> & { roomId: string; camera: string } = { roomId, camera };
  const pipeline = bot.hub.pipeline(camera);
  const coldCamera = pipeline?.getState() === "stopped";
  const onFirst = (): void => {
    handle.cameraFirstFrameAt = nowMs();
  };
  if (coldCamera) pipeline.once("firstFrame", onFirst);
  handle.saidAt = nowMs();
  await viewer.say(roomId, `!call ${camera}`);
  // The bot's session, to time its state changes (it exists before the invite is sent).
  const session = await waitFor(`the bot's call in ${roomId}`, () => bot.calls.callInRoom(roomId), { timeoutMs: 15_000, intervalMs: 5 });
  watchSession(session, handle);
  const record = await waitFor(
    `a decoded frame of the call in ${roomId}`,
    () => {
      const r = recv.callInRoom(roomId);
      if (!r || r.key === before) return undefined;
      if (r.ended) return "ended" as const;
      return r.firstFrameAt !== undefined ? r : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 5 },
  );
  pipeline?.off("firstFrame", onFirst);
  if (record === "ended") throw new Error(`the call in ${roomId} ended before its first frame`);
  const full: CallHandle = {
    roomId,
    camera,
    key: record.key,
    record,
    saidAt: handle.saidAt,
    botConnectingAt: handle.botConnectingAt,
    botConnectedAt: handle.botConnectedAt,
    cameraFirstFrameAt: handle.cameraFirstFrameAt,
  };
  // Keep the handle's bot timings current (they may land after the first frame).
  Object.defineProperty(full, "botConnectedAt", { get: () => handle.botConnectedAt, enumerable: true });
  Object.defineProperty(full, "botConnectingAt", { get: () => handle.botConnectingAt, enumerable: true });
  activeCalls.set(roomId, full);
  return full;
}

/** What the benchmark needs of a bot call session (outbound or inbound): its state and state changes. */
interface WatchedSession {
  readonly state: string;
  on(event: "state", fn: (state: string) => void): unknown;
  off(event: "state", fn: (state: string) => void): unknown;
  once(event: "ended", fn: () => void): unknown;
}

function watchSession(session: WatchedSession, handle: Partial<CallHandle>): void {
  const mark = (state: string): void => {
    if (state === "connecting") handle.botConnectingAt ??= nowMs();
    if (state === "connected") handle.botConnectedAt ??= nowMs();
  };
  mark(session.state);
  session.on("state", mark);
  session.once("ended", () => {
    session.off("state", mark);
  });
}

async function hangup(roomId: string): Promise<void> {
  if (!app || !receiver) return;
  const bot = app;
  const recv = receiver;
  activeCalls.delete(roomId);
  recv.hangup(roomId);
  await waitFor(`the call in ${roomId} to end`, () => bot.calls.callInRoom(roomId) === undefined && recv.callInRoom(roomId)?.ended === true, { timeoutMs: 15_000 });
}

async function hangupAll(): Promise<void> {
  await Promise.all([...activeCalls.keys()].map((roomId) => hangup(roomId)));
}

async function cameraStopped(camera: string): Promise<void> {
  if (!app) return;
  const bot = app;
  await waitFor(`camera ${camera}'s pipeline to stop`, () => bot.hub.pipeline(camera)?.getState() === "stopped", { timeoutMs: 15_000 });
}

interface OutboundVideoStats {
  framesEncoded: number;
  totalEncodeTime: number;
  packetsSent: number;
  totalPacketSendDelay: number;
  qualityLimitationReason: string;
}

function statNum(r: Record<string, unknown>, name: string): number {
  const v = r[name];
  return typeof v === "number" ? v : 0;
}

async function outboundStats(pcs: RTCPeerConnection[]): Promise<Map<RTCPeerConnection, OutboundVideoStats>> {
  const out = new Map<RTCPeerConnection, OutboundVideoStats>();
  for (const pc of pcs) {
    if (pc.signalingState === "closed") continue;
    try {
      const report = await pc.getStats();
      report.forEach((r: Record<string, unknown>) => {
        if (r["type"] !== "outbound-rtp" || r["kind"] !== "video") return;
        const reason = r["qualityLimitationReason"];
        out.set(pc, {
          framesEncoded: statNum(r, "framesEncoded"),
          totalEncodeTime: statNum(r, "totalEncodeTime"),
          packetsSent: statNum(r, "packetsSent"),
          totalPacketSendDelay: statNum(r, "totalPacketSendDelay"),
          qualityLimitationReason: typeof reason === "string" ? reason : "?",
        });
      });
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** The bot's peer connections of these streams (its call sessions' private PeerLink; absent fields give none). */
function botSenders(keys: string[]): () => RTCPeerConnection[] {
  return () => {
    const out: RTCPeerConnection[] = [];
    for (const key of keys) {
      const roomId = receiver?.streams.get(key)?.roomId;
      if (roomId === undefined) continue;
      const session = app?.calls.callInRoom(roomId) as unknown as { link?: { pc?: RTCPeerConnection } } | undefined;
      const pc = session?.link?.pc;
      if (pc) out.push(pc);
    }
    return out;
  };
}

const ratio = (num: number, den: number, scale = 1): number | undefined => (den > 0 ? (num / den) * scale : undefined);

function breakdown(
  out0: Map<RTCPeerConnection, OutboundVideoStats>,
  out1: Map<RTCPeerConnection, OutboundVideoStats>,
  in0: Record<string, InboundVideoStats>,
  in1: Record<string, InboundVideoStats>,
  keys: string[],
  seconds: number,
): WebrtcBreakdown {
  let frames = 0;
  let encode = 0;
  let packets = 0;
  let sendDelay = 0;
  const qualityLimitation: Record<string, number> = {};
  for (const [pc, b] of out1) {
    const a = out0.get(pc) ?? { framesEncoded: 0, totalEncodeTime: 0, packetsSent: 0, totalPacketSendDelay: 0, qualityLimitationReason: "" };
    frames += b.framesEncoded - a.framesEncoded;
    encode += b.totalEncodeTime - a.totalEncodeTime;
    packets += b.packetsSent - a.packetsSent;
    sendDelay += b.totalPacketSendDelay - a.totalPacketSendDelay;
    qualityLimitation[b.qualityLimitationReason] = (qualityLimitation[b.qualityLimitationReason] ?? 0) + 1;
  }
  let jb = 0;
  let emitted = 0;
  let decode = 0;
  let decoded = 0;
  let processing = 0;
  let dropped = 0;
  let nacks = 0;
  let plis = 0;
  for (const key of keys) {
    const b = in1[key];
    if (!b) continue;
    const a = in0[key] ?? { jitterBufferDelay: 0, jitterBufferEmittedCount: 0, totalDecodeTime: 0, framesDecoded: 0, totalProcessingDelay: 0, framesReceived: 0, framesDropped: 0, nackCount: 0, pliCount: 0, packetsLost: 0 };
    jb += b.jitterBufferDelay - a.jitterBufferDelay;
    emitted += b.jitterBufferEmittedCount - a.jitterBufferEmittedCount;
    decode += b.totalDecodeTime - a.totalDecodeTime;
    decoded += b.framesDecoded - a.framesDecoded;
    processing += b.totalProcessingDelay - a.totalProcessingDelay;
    dropped += b.framesDropped - a.framesDropped;
    nacks += b.nackCount - a.nackCount;
    plis += b.pliCount - a.pliCount;
  }
  return {
    encodeMs: ratio(encode, frames, 1000),
    encodedFps: out1.size > 0 ? frames / seconds / out1.size : undefined,
    pacerMsPerPacket: ratio(sendDelay, packets, 1000),
    qualityLimitation,
    jitterBufferMs: ratio(jb, emitted, 1000),
    processingMs: ratio(processing, decoded, 1000),
    decodeMs: ratio(decode, decoded, 1000),
    framesDroppedAtReceiver: dropped,
    nacks,
    plis,
  };
}

interface MeasureOptions {
  /** Cameras whose frames into wrtc are tapped (bot scenarios). */
  sourceCams?: string[];
  /** The sending peer connections of the streams (for the outbound stats). */
  senders?: () => RTCPeerConnection[];
}

/** Measures the processes and the streams (`keys`) over a window of `seconds`. */
async function measure(
  spec: Omit<WindowResult, "windowS" | "delivered" | "fps" | "latency" | "cpu" | "rssMB" | "processes">,
  keys: string[],
  seconds: number,
  opts: MeasureOptions = {},
): Promise<WindowResult> {
  const sourceCams = opts.sourceCams ?? [];
  const senders = opts.senders ?? ((): RTCPeerConnection[] => []);
  const in0 = keys.length > 0 && receiver ? await receiver.stats() : {};
  const out0 = await outboundStats(senders());
  const t0 = nowMs();
  const dropped0 = splitterDropped();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const usage = new UsageWindow(groups());
  await sleep(seconds * 1000);
  const u: Record<string, GroupUsage> = usage.stop();
  loop.disable();
  const t1 = nowMs();
  const in1 = keys.length > 0 && receiver ? await receiver.stats() : {};
  const out1 = await outboundStats(senders());
  const result: WindowResult = { ...spec, windowS: (t1 - t0) / 1000, ...streamStats(keys, t0, t1), ...usageOf(u) };
  result.loopDelayMs = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  if (sourceCams.length > 0) result.source = sourceStats(sourceCams, t0, t1, splitterDropped() - dropped0);
  if (keys.length > 0) result.webrtc = breakdown(out0, out1, in0, in1, keys, (t1 - t0) / 1000);
  return result;
}

function usageOf(u: Record<string, GroupUsage>): Pick<WindowResult, "cpu" | "rssMB" | "processes"> {
  const cpu: Record<string, number> = {};
  const rssMB: Record<string, { mean: number; max: number }> = {};
  const processes: Record<string, number> = {};
  for (const [name, g] of Object.entries(u)) {
    cpu[name] = g.cpuPct;
    rssMB[name] = { mean: g.rssMeanMB, max: g.rssMaxMB };
    processes[name] = g.processes;
  }
  return { cpu, rssMB, processes };
}

function streamStats(keys: string[], t0: number, t1: number): Pick<WindowResult, "delivered" | "fps" | "latency"> {
  const lat: number[] = [];
  const perCall: number[] = [];
  const delivered = new Set<string>();
  for (const key of keys) {
    const r = receiver?.streams.get(key);
    if (!r) {
      perCall.push(0);
      continue;
    }
    let frames = 0;
    for (let i = 0; i < r.at.length; i++) {
      const at = r.at[i] ?? 0;
      if (at < t0 || at > t1) continue;
      frames++;
      lat.push(r.latency[i] ?? Number.NaN);
    }
    perCall.push(frames / ((t1 - t0) / 1000));
    if (r.width > 0) delivered.add(`${r.width}x${r.height}`);
  }
  return {
    delivered: [...delivered],
    fps: { min: perCall.length > 0 ? Math.min(...perCall) : undefined, mean: mean(perCall), perCall },
    latency: summarizeLatency(lat),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Phases

async function ttffPhase(res: Resolution): Promise<void> {
  const cam = cameraName(res, 0);
  const [roomA, roomB] = rooms;
  if (roomA === undefined || roomB === undefined) throw new Error("need two rooms");
  const cold: TtffResult = { name: `cold !call → first frame (${res.name}, camera idle)`, answerToFirstFrame: [], callToFirstFrame: [], callToRing: [], answerToBotConnecting: [], answerToBotConnected: [], callToCameraFirstFrame: [], answerCall: [], firstSizes: [] };
  const warm: TtffResult = { name: `warm answer → first frame (${res.name}, camera streaming for another call)`, answerToFirstFrame: [], callToFirstFrame: [], callToRing: [], answerToBotConnecting: [], answerToBotConnected: [], callToCameraFirstFrame: [], answerCall: [], firstSizes: [] };
  const record = (into: TtffResult, h: CallHandle): void => {
    const r = h.record;
    const answer = r.answerStart;
    if (r.firstFrameAt !== undefined && answer !== undefined) into.answerToFirstFrame.push(r.firstFrameAt - answer);
    if (r.firstFrameAt !== undefined) into.callToFirstFrame.push(r.firstFrameAt - h.saidAt);
    if (r.ringAt !== undefined) into.callToRing.push(r.ringAt - h.saidAt);
    if (h.botConnectingAt !== undefined && answer !== undefined) into.answerToBotConnecting.push(h.botConnectingAt - answer);
    if (h.botConnectedAt !== undefined && answer !== undefined) into.answerToBotConnected.push(h.botConnectedAt - answer);
    if (h.cameraFirstFrameAt !== undefined) into.callToCameraFirstFrame.push(h.cameraFirstFrameAt - h.saidAt);
    if (r.answerDone !== undefined && answer !== undefined) into.answerCall.push(r.answerDone - answer);
    if (r.firstSize) into.firstSizes.push(`${r.firstSize.width}x${r.firstSize.height}`);
  };
  say(`time to first frame, cold, ${PLAN.ttffRepeats}×`);
  for (let i = 0; i < PLAN.ttffRepeats; i++) {
    await cameraStopped(cam);
    await sleep(500);
    const h = await placeCall(roomA, cam);
    await sleep(300); // let the bot's "connected" land
    record(cold, h);
    await hangup(roomA);
  }
  say(`time to first frame, warm, ${PLAN.ttffRepeats}×`);
  await placeCall(roomA, cam);
  await sleep(PLAN.settleMs);
  for (let i = 0; i < PLAN.ttffRepeats; i++) {
    const h = await placeCall(roomB, cam);
    await sleep(300);
    record(warm, h);
    await hangup(roomB);
    await sleep(300);
  }
  await hangup(roomA);
  results.ttff.push(cold, warm);
}

/** One 720p call with audio, then one on the same camera configured without audio: what A/V sync costs in latency. */
async function audioPhase(): Promise<void> {
  const [room] = rooms;
  if (room === undefined) throw new Error("no room");
  const cam = cameraName(R720, 0);
  const seconds = Math.min(PLAN.windowS, 20);
  for (const [camera, label] of [[cam, "audio on"], [NO_AUDIO_CAMERA, "audio off (camera audio: false)"]] as const) {
    await cameraStopped(cam);
    const h = await placeCall(room, camera);
    await sleep(PLAN.settleMs);
    say(`720p25: 1 call, ${label}, ${seconds} s window`);
    results.windows.push(await measure({ name: `720p25 bot, 1 call, ${label}`, kind: "bot-audio", resolution: R720.name, calls: 1, cameras: 1 }, [h.key], seconds, { sourceCams: [camera], senders: botSenders([h.key]) }));
    await hangup(room);
    await cameraStopped(camera);
  }
}

async function botSeries(res: Resolution, counts: number[], multi: { calls: number; cameras: number }): Promise<void> {
  const cam0 = cameraName(res, 0);
  await startCamera(res, 0);
  await cameraStopped(cam0);
  await sleep(1_000);
  say(`${res.name}: bot idle baseline`);
  results.windows.push(await measure({ name: `${res.name} bot idle`, kind: "idle", resolution: res.name, calls: 0, cameras: 1 }, [], Math.min(5, PLAN.windowS)));
  markSessions([cam0]);
  const keys: string[] = [];
  for (const n of counts) {
    while (keys.length < n) {
      const room = rooms[keys.length];
      if (room === undefined) throw new Error("not enough rooms");
      const h = await placeCall(room, cam0);
      keys.push(h.key);
    }
    await sleep(PLAN.settleMs);
    const seconds = n === 1 && res === R720 ? PLAN.latencyWindowS : PLAN.windowS;
    say(`${res.name}: ${n} call(s) on one camera, ${seconds} s window`);
    results.windows.push(await measure({ name: `${res.name} bot, ${n} call(s), 1 camera`, kind: "bot", resolution: res.name, calls: n, cameras: 1, rtspSessions: [] }, [...keys], seconds, { sourceCams: [cam0], senders: botSenders([...keys]) }));
    const last = results.windows.at(-1);
    if (last) last.rtspSessions = sessionsSince([cam0]);
    if (n === 1 && res === R720 && DRIFT) await driftRun(res, keys[0] ?? "");
  }
  await hangupAll();
  await cameraStopped(cam0);

  // Several cameras: `multi.calls` calls spread over `multi.cameras` cameras.
  const names: string[] = [];
  for (let i = 0; i < multi.cameras; i++) {
    await startCamera(res, i);
    names.push(cameraName(res, i));
  }
  await sleep(1_000);
  say(`${res.name}: idle baseline with ${multi.cameras} cameras streaming`);
  results.windows.push(await measure({ name: `${res.name} bot idle (${multi.cameras} cameras up)`, kind: "idle", resolution: res.name, calls: 0, cameras: multi.cameras }, [], Math.min(5, PLAN.windowS)));
  markSessions(names);
  const mkeys: string[] = [];
  for (let i = 0; i < multi.calls; i++) {
    const room = rooms[i];
    const cam = names[i % names.length];
    if (room === undefined || cam === undefined) throw new Error("not enough rooms");
    const h = await placeCall(room, cam);
    mkeys.push(h.key);
  }
  await sleep(PLAN.settleMs);
  say(`${res.name}: ${multi.calls} calls over ${multi.cameras} cameras, ${PLAN.windowS} s window`);
  const w = await measure({ name: `${res.name} bot, ${multi.calls} calls, ${multi.cameras} cameras`, kind: "bot", resolution: res.name, calls: multi.calls, cameras: multi.cameras }, mkeys, PLAN.windowS, { sourceCams: names, senders: botSenders(mkeys) });
  w.rtspSessions = sessionsSince(names);
  results.windows.push(w);
  await hangupAll();
  for (const n of names) await cameraStopped(n);
  for (const n of names.slice(1)) await stopCamera(n);
}

async function driftRun(res: Resolution, key: string): Promise<void> {
  say(`drift: ${DRIFT_MINUTES} minutes of one ${res.name} call, one window a minute`);
  for (let m = 0; m < DRIFT_MINUTES; m++) {
    const w = await measure({ name: `drift minute ${m + 1}`, kind: "bot", resolution: res.name, calls: 1, cameras: 1 }, [key], 60, { sourceCams: [cameraName(res, 0)], senders: botSenders([key]) });
    results.drift.push(w);
    say(`  minute ${m + 1}: p50 ${fmt(w.latency.p50)} ms, p95 ${fmt(w.latency.p95)} ms, ${fmt(w.fps.min, 1)} fps, bot CPU ${fmt(w.cpu["bot"])} %, RSS ${fmt(w.rssMB["bot"]?.mean)} MB`);
  }
}

async function referencePhase(res: Resolution): Promise<void> {
  if (!receiver) throw new Error("no receiver");
  const recv = receiver;
  const cam = cameraName(res, 0);
  await startCamera(res, 0);
  await sleep(1_000);
  say(`reference (call-assist): idle baseline`);
  results.windows.push(await measure({ name: `reference idle (${res.name} camera)`, kind: "idle", resolution: res.name, calls: 0, cameras: 1 }, [], Math.min(5, PLAN.windowS)));
  const camEntry = cameras.get(cam);
  if (!camEntry) throw new Error("camera not running");
  markSessions([cam]);
  const startToFirst: number[] = [];
  const answerToFirst: number[] = [];
  const keys: string[] = [];
  for (const n of PLAN.referenceCalls) {
    while (keys.length < n) {
      const call = await startReferenceCall(ffmpegPath(), camEntry.cam.url, recv);
      referenceCalls.push(call);
      keys.push(call.link.key);
      const r = await waitFor(`the reference call's first frame`, () => {
        const s = recv.streams.get(call.link.key);
        return s?.firstFrameAt !== undefined ? s : undefined;
      }, { timeoutMs: 30_000, intervalMs: 5 }).catch((err: unknown) => {
        throw new Error(`${errorText(err)} (ffmpeg delivered ${call.frames()} frames; ffmpeg said: ${call.lastLines.join(" | ")})`);
      });
      if (r.firstFrameAt !== undefined) {
        startToFirst.push(r.firstFrameAt - call.link.startedAt);
        if (r.answerStart !== undefined) answerToFirst.push(r.firstFrameAt - r.answerStart);
      }
    }
    await sleep(PLAN.settleMs);
    const seconds = n === 1 ? PLAN.referenceLatencyWindowS : PLAN.windowS;
    say(`reference: ${n} call(s), ${seconds} s window`);
    const w = await measure({ name: `reference ${res.name}→640x480@10, ${n} call(s)`, kind: "reference", resolution: res.name, calls: n, cameras: 1 }, [...keys], seconds, { senders: () => referenceCalls.map((r) => r.link.pc) });
    w.rtspSessions = sessionsSince([cam]);
    results.windows.push(w);
  }
  results.ttff.push({
    name: `reference: ffmpeg start → first frame (${res.name}; no Matrix; answer → first frame in callToRing column is n/a)`,
    answerToFirstFrame: answerToFirst,
    callToFirstFrame: startToFirst,
    callToRing: [],
    answerToBotConnecting: [],
    answerToBotConnected: [],
    callToCameraFirstFrame: [],
    answerCall: [],
    firstSizes: [],
  });
  for (const r of referenceCalls.splice(0)) await r.stop();
}

const PROBE_SCRIPT = fileURLToPath(new URL("./stamp_probe.py", import.meta.url));

/** bench/stamp_probe.py: a GStreamer RTSP client reading the stamps (the camera side of the latency, without ffmpeg). */
function cameraProbe(url: string, res: Resolution, seconds: number): Promise<{ frames: number; misreads: number; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env["GST_PYTHON"] ?? "/usr/bin/python3", [PROBE_SCRIPT, "--url", url, "--width", String(res.width), "--height", String(res.height), "--seconds", String(seconds), "--warmup", "2"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
    child.once("close", () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out) as { frames: number; misreads: number; latencies: number[] });
      } catch {
        reject(new Error(`stamp_probe.py gave no result: ${out.slice(0, 200)}`));
      }
    });
  });
}

async function floorsPhase(): Promise<void> {
  if (!receiver) throw new Error("no receiver");
  const recv = receiver;
  for (const res of PLAN.decodeFloors) {
    await startCamera(res, 0);
    const camEntry = cameras.get(cameraName(res, 0));
    if (!camEntry) throw new Error("camera not running");
    say(`floor: camera → GStreamer RTSP client (low-latency decode), ${res.name}, ${PLAN.floorWindowS} s`);
    const probe = await cameraProbe(camEntry.cam.url, res, PLAN.floorWindowS);
    results.windows.push({
      name: `floor: camera → GStreamer client decode ${res.name} (bench/stamp_probe.py)`,
      kind: "camera-floor",
      resolution: res.name,
      calls: 0,
      cameras: 1,
      windowS: PLAN.floorWindowS,
      delivered: [`${res.width}x${res.height}`],
      fps: { min: probe.frames / PLAN.floorWindowS, mean: probe.frames / PLAN.floorWindowS, perCall: [probe.frames / PLAN.floorWindowS] },
      latency: { ...summarizeLatency(probe.latencies), misreads: probe.misreads },
      cpu: {},
      rssMB: {},
      processes: {},
    });
    const run = startDecodeFloor(ffmpegPath(), camEntry.cam.url, { width: res.width, height: res.height, fps: FPS });
    try {
      await waitFor("the decode floor's first frame", () => run.at.length > 0, { timeoutMs: 20_000 });
      await sleep(PLAN.settleMs);
      say(`floor: our ffmpeg decoding ${res.name} alone, ${PLAN.floorWindowS} s`);
      const t0 = nowMs();
      const floorGroup: ProcGroup = { name: "floorFfmpeg", pids: () => (run.pid !== undefined ? [run.pid] : []) };
      const usage = new UsageWindow([...groups(), floorGroup]);
      await sleep(PLAN.floorWindowS * 1000);
      const u = usage.stop();
      const t1 = nowMs();
      const lat: number[] = [];
      let frames = 0;
      for (let i = 0; i < run.at.length; i++) {
        const at = run.at[i] ?? 0;
        if (at < t0 || at > t1) continue;
        frames++;
        lat.push(run.latencies[i] ?? Number.NaN);
      }
      const fps = frames / ((t1 - t0) / 1000);
      results.windows.push({
        name: `floor: our ffmpeg decode ${res.name} (pipe drained, stamp read at its output)`,
        kind: "decode-floor",
        resolution: res.name,
        calls: 0,
        cameras: 1,
        windowS: (t1 - t0) / 1000,
        delivered: [`${res.width}x${res.height}`],
        fps: { min: fps, mean: fps, perCall: [fps] },
        latency: summarizeLatency(lat),
        ...usageOf(u),
      });
    } finally {
      await run.stop();
    }
  }

  // wrtc encode floor: synthetic stamped 720p25 frames into k peer connections.
  const src = new SyntheticSource(R720.width, R720.height, FPS);
  synthetic = src;
  const links: PlainLink[] = [];
  try {
    for (const k of PLAN.encodeK) {
      while (links.length < k) {
        const link = await openPlainLink(recv, src.createTrack(), "enc");
        links.push(link);
        plainLinks.push(link);
        await waitFor("the encode floor's first frame", () => recv.streams.get(link.key)?.firstFrameAt !== undefined, { timeoutMs: 20_000 });
      }
      await sleep(PLAN.settleMs);
      say(`floor: wrtc encoding synthetic 720p25 into ${k} peer connection(s), ${PLAN.floorWindowS} s`);
      results.windows.push(await measure({ name: `floor: wrtc encode 720p25 synthetic, ${k} PC(s)`, kind: "encode-floor", resolution: R720.name, calls: k, cameras: 0 }, links.map((l) => l.key), PLAN.floorWindowS, { senders: () => links.map((l) => l.pc) }));
    }
  } finally {
    for (const l of links) l.close();
    plainLinks.length = 0;
    src.stop();
    synthetic = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Report

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : " ".repeat(n - s.length) + s;
}

function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => ((right[i] ?? false) ? lpad(c, widths[i] ?? 0) : pad(c, widths[i] ?? 0))).join("  ")).join("\n");
}

interface Target {
  what: string;
  target: string;
  measured: string;
  met: boolean | undefined;
}

function computeTargets(): Target[] {
  const t: Target[] = [];
  const w = results.windows;
  const bot720 = w.filter((x) => x.kind === "bot" && x.resolution === R720.name && x.cameras === 1);
  const one = bot720.find((x) => x.calls === 1);
  t.push({
    what: "720p25 added latency p50 (1 call)",
    target: "≤ 100 ms",
    measured: `${fmt(one?.latency.p50)} ms`,
    met: one?.latency.p50 === undefined ? undefined : one.latency.p50 <= 100,
  });
  t.push({
    what: "720p25 added latency p95 (1 call)",
    target: "≤ 200 ms",
    measured: `${fmt(one?.latency.p95)} ms`,
    met: one?.latency.p95 === undefined ? undefined : one.latency.p95 <= 200,
  });
  const warm = results.ttff.find((x) => x.name.startsWith("warm"));
  const warmMed = warm ? median(warm.answerToFirstFrame) : undefined;
  const warmMax = warm ? max(warm.answerToFirstFrame) : undefined;
  t.push({
    what: "answer → first frame, warm (median; max)",
    target: "≤ 500 ms",
    measured: `${fmt(warmMed)} ms; max ${fmt(warmMax)} ms`,
    met: warmMed === undefined ? undefined : warmMed <= 500 && (warmMax ?? 0) <= 500,
  });
  const enc = w.filter((x) => x.kind === "encode-floor");
  const enc0 = enc.find((x) => x.calls === 0)?.cpu["bot"];
  const encK = enc.filter((x) => x.calls > 0).at(-1);
  const encodeFloor = enc0 !== undefined && encK !== undefined ? ((encK.cpu["bot"] ?? 0) - enc0) / encK.calls : undefined;
  // From 1 call to the most calls still delivered at ≥ 95 % of the frame rate: past that the encoders are starved
  // (frames dropped), so CPU per call would look cheaper than it is.
  const sorted = [...bot720].sort((a, b) => a.calls - b.calls);
  const first = sorted[0];
  const healthy = sorted.filter((x) => x.calls > 1 && (x.fps.min ?? 0) >= 0.95 * FPS);
  const last = healthy.at(-1) ?? sorted.at(-1);
  const perExtra = first && last && last.calls > first.calls ? ((last.cpu["bot"] ?? 0) - (first.cpu["bot"] ?? 0)) / (last.calls - first.calls) : undefined;
  t.push({
    what: `CPU of each extra 720p25 call (${first?.calls ?? "?"}→${last?.calls ?? "?"} calls, one camera${healthy.length === 0 ? ", none at full rate" : ""})`,
    target: `≤ 1.2 × encode floor (${fmt(encodeFloor, 1)} % → ≤ ${fmt(encodeFloor === undefined ? undefined : encodeFloor * 1.2, 1)} %)`,
    measured: `${fmt(perExtra, 1)} % of a core per call`,
    met: perExtra === undefined || encodeFloor === undefined ? undefined : perExtra <= 1.2 * encodeFloor,
  });
  const eights = w.filter((x) => x.kind === "bot" && x.calls >= 8);
  for (const e of eights.length > 0 ? eights : w.filter((x) => x.kind === "bot" && x.calls === Math.max(...w.filter((y) => y.kind === "bot").map((y) => y.calls)))) {
    t.push({
      what: `${e.calls} calls at ≥ 95 % of ${FPS} fps (${e.name.replace(/^.*?bot, /, `${e.resolution}, `)}; worst call)`,
      target: `≥ ${(0.95 * FPS).toFixed(2)} fps`,
      measured: `${fmt(e.fps.min, 1)} fps (mean ${fmt(e.fps.mean, 1)})`,
      met: e.fps.min === undefined ? undefined : e.fps.min >= 0.95 * FPS,
    });
  }
  for (const res of [R720, R1080]) {
    const idle = w.find((x) => x.kind === "idle" && x.resolution === res.name && x.cameras === 1 && x.name.includes("bot idle"));
    const most = w.filter((x) => x.kind === "bot" && x.resolution === res.name && x.cameras === 1).sort((a, b) => b.calls - a.calls)[0];
    if (!idle || !most) continue;
    const perCall = ((most.rssMB["bot"]?.mean ?? 0) - (idle.rssMB["bot"]?.mean ?? 0)) / most.calls;
    t.push({
      what: `memory per call, ${res.name} (bot + ffmpeg RSS, ${most.calls} calls vs idle, one camera)`,
      target: "≤ 40 MB",
      measured: `${fmt(perCall, 1)} MB`,
      met: perCall <= 40,
    });
  }
  return t;
}

function report(): string {
  const lines: string[] = [];
  const rows: string[][] = [["scenario", "calls", "cams", "delivered", "fps/call min", "mean", "lat p50", "p95", "max", "misread", "src fps", "src p50", "src p95", "loop p99", "bot CPU%", "ffmpeg%", "bot RSS MB", "recv CPU%", "cam CPU%", "RTSP sess"]];
  for (const w of results.windows) {
    rows.push([
      w.name,
      String(w.calls),
      String(w.cameras),
      w.delivered.join(",") || "–",
      fmt(w.fps.min, 1),
      fmt(w.fps.mean, 1),
      fmt(w.latency.p50),
      fmt(w.latency.p95),
      fmt(w.latency.max),
      w.latency.samples + w.latency.misreads > 0 ? String(w.latency.misreads) : "–",
      fmt(w.source?.fpsMin, 1),
      fmt(w.source?.latency.p50),
      fmt(w.source?.latency.p95),
      fmt(w.loopDelayMs?.p99),
      fmt(w.kind === "decode-floor" ? w.cpu["floorFfmpeg"] : w.cpu["bot"]),
      fmt(w.kind === "decode-floor" ? w.cpu["floorFfmpeg"] : w.cpu["botFfmpeg"]),
      fmt(w.rssMB["bot"]?.mean),
      fmt(w.cpu["receiver"]),
      fmt(w.cpu["cameras"]),
      w.rtspSessions ? w.rtspSessions.join("/") : "–",
    ]);
  }
  lines.push(table(rows, [false, true, true, false, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, false]));
  lines.push("");
  lines.push("latency = receiver's decoded-frame arrival − the camera's capture stamp, ms. CPU = % of one core (utime+stime over the window).");
  lines.push("bot = the bench process (bot in-process, idle Matrix sync, bench bookkeeping) + its ffmpeg children (keepers excluded);");
  lines.push("for decode-floor rows the CPU columns are that ffmpeg alone. recv = the receiver process; cam = GStreamer cameras + keepers.");
  lines.push("src = at the bot's RTCVideoSource input (tap on the pipeline's video.onFrame): frames handed to wrtc per second (worst camera)");
  lines.push("and their latency since capture, so lat − src = wrtc encode + RTP + receiver jitter buffer + decode.");
  lines.push("loop p99 = event-loop delay of the bot's main thread (p99 over the window, ms; 10 ms resolution).");
  for (const res of [R720, R1080]) {
    const series = results.windows.filter((x) => x.kind === "bot" && x.resolution === res.name && x.cameras === 1).sort((a, b) => a.calls - b.calls);
    const steps: string[] = [];
    for (let i = 1; i < series.length; i++) {
      const a = series[i - 1];
      const b = series[i];
      if (!a || !b) continue;
      steps.push(`${a.calls}→${b.calls}: ${fmt(((b.cpu["bot"] ?? 0) - (a.cpu["bot"] ?? 0)) / (b.calls - a.calls), 1)} %/call`);
    }
    if (steps.length > 0) lines.push(`CPU per extra call, ${res.name}, one camera: ${steps.join(", ")}`);
  }
  lines.push("");
  const brows: string[][] = [["where the wrtc part goes (ms)", "lat p50", "src p50", "lat−src", "encode/frame", "pacer/packet", "jitter buf/frame", "1st pkt→decoded", "decode/frame", "encoded fps/stream", "recv dropped", "NACK", "PLI", "quality limited by"]];
  for (const w of results.windows) {
    const b = w.webrtc;
    if (!b) continue;
    const srcP50 = w.source?.latency.p50;
    brows.push([
      w.name,
      fmt(w.latency.p50),
      fmt(srcP50),
      fmt(w.latency.p50 !== undefined && srcP50 !== undefined ? w.latency.p50 - srcP50 : undefined),
      fmt(b.encodeMs, 1),
      fmt(b.pacerMsPerPacket, 1),
      fmt(b.jitterBufferMs, 1),
      fmt(b.processingMs, 1),
      fmt(b.decodeMs, 1),
      fmt(b.encodedFps, 1),
      String(b.framesDroppedAtReceiver),
      String(b.nacks),
      String(b.plis),
      Object.entries(b.qualityLimitation).map(([k, v]) => `${k}×${v}`).join(" ") || "–",
    ]);
  }
  lines.push("");
  lines.push(table(brows, [false, true, true, true, true, true, true, true, true, true, true, true, true, false]));
  lines.push("getStats() deltas over the window: encode and pacer at the sender (the bot, or the bench for reference/floor rows),");
  lines.push("jitter buffer (jitterBufferDelay/emitted), 1st pkt→decoded (totalProcessingDelay/decoded) and decode at the receiver.");
  lines.push("");
  const trows: string[][] = [["time to first frame (ms)", "n", "median", "max", "!call→ring", "js-sdk answer()", "answer→bot connecting", "answer→bot ICE connected", "!call→camera 1st frame", "call/start→1st frame", "1st frame size"]];
  for (const t of results.ttff) {
    trows.push([
      t.name,
      String(t.answerToFirstFrame.length || t.callToFirstFrame.length),
      fmt(median(t.answerToFirstFrame.length > 0 ? t.answerToFirstFrame : t.callToFirstFrame)),
      fmt(max(t.answerToFirstFrame.length > 0 ? t.answerToFirstFrame : t.callToFirstFrame)),
      fmt(median(t.callToRing)),
      fmt(median(t.answerCall)),
      fmt(median(t.answerToBotConnecting)),
      fmt(median(t.answerToBotConnected)),
      fmt(median(t.callToCameraFirstFrame)),
      fmt(median(t.callToFirstFrame)),
      [...new Set(t.firstSizes)].join(",") || "–",
    ]);
  }
  lines.push(table(trows, [false, true, true, true, true, true, true, true, true, true, false]));
  lines.push("median/max = answer → first decoded frame (reference: offer received → first frame); the other columns are medians.");
  if (results.drift.length > 0) {
    lines.push("");
    const drows: string[][] = [["drift (1 call, 720p25)", "p50", "p95", "max", "fps", "src p50", "bot CPU%", "bot RSS MB", "recv CPU%"]];
    for (const d of results.drift) drows.push([d.name, fmt(d.latency.p50), fmt(d.latency.p95), fmt(d.latency.max), fmt(d.fps.min, 1), fmt(d.source?.latency.p50), fmt(d.cpu["bot"]), fmt(d.rssMB["bot"]?.mean), fmt(d.cpu["receiver"])]);
    lines.push(table(drows, [false, true, true, true, true, true, true, true, true]));
  }
  lines.push("");
  const targets = computeTargets();
  const rowsT: string[][] = [["target", "wanted", "measured", "verdict"]];
  for (const t of targets) rowsT.push([t.what, t.target, t.measured, t.met === undefined ? "not measured" : t.met ? "met" : "NOT MET"]);
  lines.push(table(rowsT, [false, false, false, false]));
  return lines.join("\n");
}

function machine(): Record<string, unknown> {
  const sh = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "?";
    }
  };
  return {
    date: new Date(started).toISOString(),
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "?",
    memGB: Math.round(os.totalmem() / 1e9),
    kernel: os.release(),
    node: process.version,
    ffmpeg: app ? `${app.ffmpeg.path} ${app.ffmpeg.version}` : "?",
    commit: sh("git", ["rev-parse", "--short", "HEAD"]),
    dirty: sh("git", ["status", "--porcelain", "--untracked-files=no", "--", "src"]) !== "",
    mode: QUICK ? "quick" : "full",
    drift: DRIFT,
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const outDir = path.join(root, "bench-results");
  const runDir = path.join(outDir, stamp);
  mkdirSync(runDir, { recursive: true });
  say(`matrix-camera-call bench (${QUICK ? "quick" : "full"}${DRIFT ? " + drift" : ""}); logs in ${path.relative(root, runDir)}/`);

  const deadline = setTimeout(() => {
    say(`deadline of ${PLAN.deadlineMs / 60_000} minutes passed: stopping`);
    results.errors.push("deadline passed");
    void cleanup().finally(() => process.exit(1));
  }, PLAN.deadlineMs + (DRIFT ? (DRIFT_MINUTES + 2) * 60_000 : 0));
  deadline.unref();

  let failed = false;
  try {
    say("starting Synapse");
    synapse = await startSynapse();
    const botUser = await synapse.registerUser("camerabot");
    const viewerUser = await synapse.registerUser("viewer");

    for (const res of PLAN.series.map((s) => s.res)) {
      for (let i = 0; i < CAMERAS_PER_RES; i++) cameraPorts.set(cameraName(res, i), await freePort());
    }
    const configLines = [
      "homeserver:",
      `  url: ${synapse.baseUrl}`,
      "  accessToken: ${BOT_TOKEN}",
      "allowedUsers:",
      `  - "${viewerUser.userId}"`,
      "cameras:",
    ];
    for (const [name, port] of cameraPorts) {
      const res = name.startsWith("c1080") ? R1080 : R720;
      configLines.push(`  - name: ${name}`, `    url: "rtsp://127.0.0.1:${port}/cam"`, `    maxWidth: ${res.width}`, `    maxHeight: ${res.height}`, `    maxFps: ${FPS}`);
    }
    // The first 720p camera once more, without audio: the same picture, to measure what audio (A/V sync) costs.
    const firstPort = cameraPorts.get(cameraName(R720, 0));
    if (firstPort !== undefined) {
      configLines.push(`  - name: ${NO_AUDIO_CAMERA}`, `    url: "rtsp://127.0.0.1:${firstPort}/cam"`, `    maxWidth: ${R720.width}`, `    maxHeight: ${R720.height}`, `    maxFps: ${FPS}`, "    audio: false");
    }
    // The bench starts calls faster than a person would: lift the per-user rate limit, allow every call it makes.
    configLines.push("calls:", "  maxPerUserPerMinute: 1000", `  maxConcurrent: ${MAX_CALLS + 2}`);
    configLines.push("media:", "  idleStopMs: 0", `dataDir: ${path.join(runDir, "data")}`, "logLevel: info", "");
    const configFile = path.join(runDir, "config.yaml");
    writeFileSync(configFile, configLines.join("\n"));
    const config = loadConfigFile(configFile, { ...process.env, BOT_TOKEN: botUser.accessToken });
    say("starting the bot (in-process) and the receiver (separate process)");
    app = await startApp(config, { log: pino({ level: "info" }, pino.destination({ dest: path.join(runDir, "bot.log"), sync: false })) });
    installTaps(app);
    receiver = await ReceiverClient.start(path.join(runDir, "receiver.log"));
    await receiver.login({ baseUrl: synapse.baseUrl, userId: viewerUser.userId, accessToken: viewerUser.accessToken, deviceId: viewerUser.deviceId });
    viewer = new Viewer(synapse.baseUrl, viewerUser.accessToken);
    say(`creating ${MAX_CALLS} direct chats with the bot`);
    rooms = [];
    for (let i = 0; i < MAX_CALLS; i++) rooms.push(await viewer.directChatWith(botUser.userId));
    await sleep(1_000); // the receiver's sync sees the rooms

    // Each phase is independent: one that fails is reported and the next one still runs.
    const phase = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err: unknown) {
        failed = true;
        results.errors.push(`${what}: ${errorText(err)}`);
        say(`${what} FAILED: ${errorText(err).split("\n")[0] ?? ""}`);
        await hangupAll().catch((e: unknown) => results.errors.push(`hangup after ${what}: ${errorText(e)}`));
        activeCalls.clear();
        await app?.calls.hangupAll("user_hangup");
        for (const r of referenceCalls.splice(0)) await r.stop().catch(() => undefined);
      }
      for (const name of [...cameras.keys()]) if (name !== cameraName(R720, 0)) await stopCamera(name);
    };
    await startCamera(R720, 0);
    await phase("time to first frame", () => ttffPhase(R720));
    await phase("audio on/off", () => audioPhase());
    for (const s of PLAN.series) await phase(`${s.res.name} series`, () => botSeries(s.res, s.calls, s.multi));
    await phase("reference", () => referencePhase(R720));
    await phase("floors", () => floorsPhase());
  } catch (err: unknown) {
    failed = true;
    results.errors.push(errorText(err));
    say(`FAILED: ${errorText(err)}`);
  } finally {
    if (receiver && receiver.errors.length > 0) results.errors.push(...receiver.errors.map((e) => `receiver: ${e}`));
    const info = machine();
    say("stopping everything");
    await cleanup();
    clearTimeout(deadline);
    const text = report();
    process.stdout.write(`\n${JSON.stringify(info)}\n\n${text}\n`);
    if (results.errors.length > 0) process.stdout.write(`\nerrors:\n${results.errors.map((e) => `  ${e}`).join("\n")}\n`);
    const file = path.join(outDir, `${stamp}.json`);
    writeFileSync(file, JSON.stringify({ machine: info, plan: PLAN, ...results, targets: computeTargets() }, null, 2));
    process.stdout.write(`\nwrote ${path.relative(root, file)}\n`);
    const leftovers = childrenNamed(process.pid, "ffmpeg").length + (readProcStat(receiver?.pid ?? -1) ? 1 : 0);
    if (leftovers > 0) process.stdout.write(`warning: ${leftovers} child process(es) still running at exit (killed now)\n`);
  }
  process.exit(failed ? 1 : 0);
}

void main();
