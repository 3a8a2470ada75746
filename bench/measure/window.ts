/**
 * One measurement window: the processes' CPU and memory (/proc), the bot's event-loop delay, every stream's frames
 * and latency at the receiver, the frames into the bot's video sources, and the WebRTC breakdown. The window's
 * length is the measurement itself (a set duration, not a wait for a condition).
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { UsageWindow, type GroupUsage, type ProcGroup } from "../../test/harness/proc-stats.ts";
import type { ReceiverClient } from "../receiver-client.ts";
import type { WindowResult } from "../report/results.ts";
import { nowMs } from "../stamp.ts";
import { mean, summarizeLatency } from "../stats.ts";
import { memoryOf } from "./memory.ts";
import type { SourceTaps } from "./source-tap.ts";
import { breakdown, noSenders, type Senders } from "./webrtc.ts";

/** What a window reads from the rig. */
export interface MeasureDeps {
  receiver: ReceiverClient;
  taps: SourceTaps | undefined;
  groups(): ProcGroup[];
}

export interface WindowOptions {
  /** Cameras whose frames into wrtc are tapped (bot scenarios). */
  sourceCams?: readonly string[];
  senders?: Senders;
  /** More process groups for this window (e.g. a floor's own ffmpeg, the talkback command). */
  extraGroups?: readonly ProcGroup[];
}

export type WindowSpec = Omit<WindowResult, "windowS" | "delivered" | "fps" | "latency" | "cpu" | "rssMB" | "processes">;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Measures the processes and the streams `keys` over a window of `seconds`. */
export async function measureWindow(
  deps: MeasureDeps,
  spec: WindowSpec,
  keys: readonly string[],
  seconds: number,
  opts: WindowOptions = {},
): Promise<WindowResult> {
  const senders = opts.senders ?? noSenders;
  const in0 = keys.length > 0 ? await deps.receiver.stats() : {};
  const out0 = await senders();
  const t0 = nowMs();
  const dropped0 = deps.taps?.splitterDropped() ?? 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const usage = new UsageWindow([...deps.groups(), ...(opts.extraGroups ?? [])]);
  await sleep(seconds * 1000); // the window itself
  const u = usage.stop();
  loop.disable();
  const t1 = nowMs();
  const in1 = keys.length > 0 ? await deps.receiver.stats() : {};
  const out1 = await senders();
  const result: WindowResult = { ...spec, windowS: (t1 - t0) / 1000, ...streamFigures(deps.receiver, keys, t0, t1), ...usageOf(u) };
  // Where the bench process's (the bot's) memory is at the window's end: smaps classes and V8 (measure/memory.ts).
  const memory = memoryOf(process.pid, true);
  if (memory) result.memory = memory;
  result.loopDelayMs = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  const cams = opts.sourceCams ?? [];
  if (cams.length > 0 && deps.taps) result.source = deps.taps.figures(cams, t0, t1, deps.taps.splitterDropped() - dropped0);
  if (keys.length > 0) result.webrtc = breakdown(out0, out1, in0, in1, keys, (t1 - t0) / 1000);
  return result;
}

export function usageOf(u: Record<string, GroupUsage>): Pick<WindowResult, "cpu" | "rssMB" | "processes"> {
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

/** Frames per second per stream, delivered sizes and latency (receiver's decode time − capture stamp) in [t0, t1]. */
export function streamFigures(
  receiver: ReceiverClient,
  keys: readonly string[],
  t0: number,
  t1: number,
): Pick<WindowResult, "delivered" | "fps" | "latency" | "latencyP50PerCall"> {
  const lat: number[] = [];
  const perCall: number[] = [];
  const p50s: (number | undefined)[] = [];
  const delivered = new Set<string>();
  for (const key of keys) {
    const r = receiver.streams.get(key);
    if (!r) {
      perCall.push(0);
      p50s.push(undefined);
      continue;
    }
    let frames = 0;
    const own: number[] = [];
    for (let i = 0; i < r.at.length; i++) {
      const at = r.at[i] ?? 0;
      if (at < t0 || at > t1) continue;
      frames++;
      own.push(r.latency[i] ?? Number.NaN);
      lat.push(r.latency[i] ?? Number.NaN);
    }
    perCall.push(frames / ((t1 - t0) / 1000));
    p50s.push(summarizeLatency(own).p50);
    if (r.width > 0) delivered.add(`${r.width}x${r.height}`);
  }
  return {
    delivered: [...delivered],
    fps: { min: perCall.length > 0 ? Math.min(...perCall) : undefined, mean: mean(perCall), perCall },
    latency: summarizeLatency(lat),
    latencyP50PerCall: p50s,
  };
}

/**
 * Whether every stream has reached full rate over the last second (a new call ramps its bitrate up first): the
 * condition a window waits for before it starts, with a cap, since under overload it never comes.
 */
export function streamsAtRate(receiver: ReceiverClient, keys: readonly string[], fps: number): boolean {
  const now = nowMs();
  return keys.every((key) => {
    const r = receiver.streams.get(key);
    if (!r) return false;
    let n = 0;
    for (let i = r.at.length - 1; i >= 0 && (r.at[i] ?? 0) > now - 1000; i--) n++;
    return n >= 0.9 * fps;
  });
}
