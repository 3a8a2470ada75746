/**
 * Where talkback's mouth → door latency is held, over a long run (issue 12's drift): once a second the bot's mixer
 * queue for the call (TalkbackHub.levels(): the least and mean it held over its last 1 s period, the audio trimmed)
 * and the bot's receive jitter buffer for the callee's audio (libwebrtc NetEq, wrtc 0.10's getStats inbound-rtp
 * audio: jitterBufferDelay and jitterBufferTargetDelay are sums over emitted samples, in seconds, with
 * jitterBufferEmittedCount the samples). `slices()` puts them per minute next to the burst latencies. One getStats a
 * second on one peer connection: cheap next to the call itself.
 */
import type { App } from "../../src/app.ts";
import { percentile } from "../stats.ts";

export interface LevelSample {
  /** Date.now() of the sample. */
  at: number;
  leastHeldMs: number | undefined;
  meanHeldMs: number | undefined;
  /** Cumulative: the mixer's standing-queue trims and overflow drops of this call's input, ms of audio. */
  trimmedMs: number;
  droppedMs: number;
  receivedMs: number;
  /** Cumulative inbound-rtp audio counters (undefined when getStats had none). */
  jb: { delayS: number; targetS: number; emitted: number; concealed: number } | undefined;
}

/** Per slice of the run: the bursts' latency median beside where the delay was held. */
export interface TalkbackSlice {
  fromS: number;
  bursts: number;
  latencyP50: number | undefined;
  /** Medians over the slice's 1 s mixer periods. */
  mixerLeastMs: number | undefined;
  mixerMeanMs: number | undefined;
  /** Audio the mixer trimmed (standing queue) and dropped (overflow) during the slice, ms. */
  trimmedMs: number;
  droppedMs: number;
  /**
   * Audio per wall-clock second, %: into the mixer from the sink, and out of NetEq (emitted samples at 48 kHz). Both
   * are 100 when libwebrtc's playout keeps time; NetEq's delay figures count its own 10 ms ticks, not the wall clock.
   */
  sinkRatePct: number | undefined;
  neteqRatePct: number | undefined;
  /** Samples NetEq concealed (made up: loss or late packets) during the slice, ms. */
  concealedMs: number | undefined;
  /** NetEq's mean delay per emitted sample during the slice (what the callee's audio waited in the jitter buffer), ms. */
  jitterBufferMs: number | undefined;
  /** NetEq's mean target delay during the slice, ms. */
  jitterTargetMs: number | undefined;
}

function num(r: Record<string, unknown>, name: string): number | undefined {
  const v = r[name];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

async function jitterBuffer(app: App, room: string): Promise<LevelSample["jb"]> {
  const pc = app.calls.callInRoom(room)?.link?.pc;
  if (pc === undefined || pc.signalingState === "closed") return undefined;
  const report = await pc.getStats().catch(() => undefined);
  let found: LevelSample["jb"];
  report?.forEach((r: Record<string, unknown>) => {
    if (found !== undefined || r["type"] !== "inbound-rtp" || r["kind"] !== "audio") return;
    const delayS = num(r, "jitterBufferDelay");
    const targetS = num(r, "jitterBufferTargetDelay");
    const emitted = num(r, "jitterBufferEmittedCount");
    const concealed = num(r, "concealedSamples") ?? Number.NaN;
    if (delayS !== undefined && emitted !== undefined) found = { delayS, targetS: targetS ?? Number.NaN, emitted, concealed };
  });
  return found;
}

/** Samples the bot's talkback levels for the call in `room` every second until stop(). */
export function sampleLevels(app: App, room: string): { stop(): LevelSample[] } {
  const samples: LevelSample[] = [];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    const level = app.talkback.levels()[0];
    void jitterBuffer(app, room).then((jb) => {
      busy = false;
      samples.push({
        at: Date.now(),
        leastHeldMs: level?.leastHeldMs,
        meanHeldMs: level?.meanHeldMs,
        trimmedMs: level?.trimmedMs ?? 0,
        droppedMs: level?.droppedMs ?? 0,
        receivedMs: level?.receivedMs ?? 0,
        jb,
      });
    });
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return samples;
    },
  };
}

const finite = (xs: readonly (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined && Number.isFinite(x));

/** Slices of `sliceS` seconds from the first onset: burst latency median, mixer queue, trims and NetEq delay. */
export function slices(
  onsets: readonly number[],
  latencies: readonly number[],
  samples: readonly LevelSample[],
  sliceS: number,
): TalkbackSlice[] {
  const first = onsets[0];
  if (first === undefined) return [];
  // Up to the last onset: the samples taken while its tone was on its way belong to its slice, not to one of their own.
  const end = onsets.at(-1) ?? first;
  const out: TalkbackSlice[] = [];
  for (let from = first; from <= end; from += sliceS * 1000) {
    const to = from + sliceS * 1000;
    const lat = finite(latencies.filter((_, i) => (onsets[i] ?? 0) >= from && (onsets[i] ?? 0) < to));
    const inSlice = samples.filter((s) => s.at >= from && s.at < to);
    // The counters' deltas from the last sample before the slice (or its first one) to its last one.
    const before = samples.filter((s) => s.at < from).at(-1) ?? inSlice[0];
    const last = inSlice.at(-1);
    const a = before?.jb;
    const b = last?.jb;
    const emitted = a !== undefined && b !== undefined ? b.emitted - a.emitted : 0;
    const wallMs = last !== undefined && before !== undefined ? last.at - before.at : 0;
    const rate = (ms: number | undefined): number | undefined => (ms !== undefined && wallMs > 0 ? (ms / wallMs) * 100 : undefined);
    out.push({
      fromS: (from - first) / 1000,
      bursts: lat.length,
      latencyP50: percentile(lat, 50),
      mixerLeastMs: percentile(finite(inSlice.map((s) => s.leastHeldMs)), 50),
      mixerMeanMs: percentile(finite(inSlice.map((s) => s.meanHeldMs)), 50),
      trimmedMs: last !== undefined && before !== undefined ? last.trimmedMs - before.trimmedMs : 0,
      droppedMs: last !== undefined && before !== undefined ? last.droppedMs - before.droppedMs : 0,
      sinkRatePct: rate(last !== undefined && before !== undefined ? last.receivedMs - before.receivedMs : undefined),
      neteqRatePct: rate(a !== undefined && b !== undefined ? emitted / 48 : undefined),
      concealedMs: a !== undefined && b !== undefined ? (b.concealed - a.concealed) / 48 : undefined,
      jitterBufferMs: a !== undefined && b !== undefined && emitted > 0 ? ((b.delayS - a.delayS) / emitted) * 1000 : undefined,
      jitterTargetMs: a !== undefined && b !== undefined && emitted > 0 ? ((b.targetS - a.targetS) / emitted) * 1000 : undefined,
    });
  }
  return out;
}

/**
 * Per burst: its latency less NetEq's mean delay over the 1 s sample interval in which its tone reached the door
 * (NaN when either is missing): the part of mouth → door outside the bot's jitter buffer (the callee's send, the
 * network, the mixer, the output). Its rise over a run says whether a latency step is NetEq's or the bot's own.
 * NaN too where the difference is negative (see below).
 */
export function outsideNetEq(onsets: readonly number[], latencies: readonly number[], samples: readonly LevelSample[]): number[] {
  return onsets.map((t0, i) => {
    const lat = latencies[i] ?? Number.NaN;
    if (!Number.isFinite(lat)) return Number.NaN;
    const k = samples.findIndex((s) => s.at > t0 + lat);
    const a = samples[k - 1]?.jb;
    const b = samples[k]?.jb;
    if (k < 1 || a === undefined || b === undefined || b.emitted <= a.emitted) return Number.NaN;
    const outside = lat - ((b.delayS - a.delayS) / (b.emitted - a.emitted)) * 1000;
    // Less than nothing: the burst's tone came after the next onset (NetEq held more than the 700 ms gap) and the
    // latency measure matched it to the wrong onset; left out rather than counted as a fall.
    return outside < 0 ? Number.NaN : outside;
  });
}
