/**
 * Every headline figure of a run with its target and whether it is met (issue 14 item 6). Targets are issue 14's
 * (ring, picture, latency, memory and CPU per call, overload) and issue 12's (talkback); a figure without a target is
 * listed as "no target". A figure whose phase did not run is "not measured".
 */
import { availableParallelism } from "node:os";
import { DEFAULT_MEGAPIXELS_PER_CORE, frameCost } from "../../src/media/encode-budget.ts";
import { FPS } from "../plan.ts";
import { glassToGlassTargets } from "./glass-to-glass.ts";
import { rtcTargets } from "./matrixrtc.ts";
import { startTargets } from "./start-targets.ts";
import { fmt, percentile } from "../stats.ts";
import { MEMORY_LIMIT_MB, memoryTargets, seriesSpan } from "./memory-targets.ts";
import type { Results, TalkbackResult, WindowResult } from "./results.ts";

export interface Target {
  figure: string;
  target: string;
  measured: string;
  /** true/false; "none" for a figure without a target; undefined when not measured. */
  met: boolean | "none" | undefined;
}

export function verdict(t: Target): string {
  if (t.met === undefined) return "not measured";
  if (t.met === "none") return "no target";
  return t.met ? "met" : "NOT MET";
}

const ms = (x: number | undefined): string => (x === undefined ? "–" : `${fmt(x)} ms`);

function oneCall(w: readonly WindowResult[]): WindowResult | undefined {
  return (
    w.find((x) => x.kind === "latency") ?? w.find((x) => x.kind === "bot" && x.resolution === "720p25" && x.calls === 1 && x.cameras === 1)
  );
}

function latencyTargets(r: Results): Target[] {
  const one = oneCall(r.windows);
  const t: Target[] = [...glassToGlassTargets(one, "latency: glass-to-glass {p}, one 720p25 call")];
  const ff = r.windows.find((x) => x.kind === "latency-ffmpeg");
  if (ff) t.push(...glassToGlassTargets(ff, "latency: glass-to-glass {p}, one 720p25 call, frontEnd ffmpeg"));
  // Since the lean ffmpeg became the default (where built) the other front end measured is GStreamer.
  const gst = r.windows.find((x) => x.kind === "latency-gstreamer");
  if (gst) t.push(...glassToGlassTargets(gst, "latency: glass-to-glass {p}, one 720p25 call, frontEnd gstreamer"));
  const full = one !== undefined && one.delivered.includes("1280x720") && (one.fps.min ?? 0) >= 0.95 * FPS;
  t.push({
    figure: "a single call gets full size and rate",
    target: `1280x720 at ≥ ${fmt(0.95 * FPS, 2)} fps`,
    measured: one ? `${one.delivered.join(",") || "–"} at ${fmt(one.fps.min, 1)} fps` : "–",
    met: one === undefined ? undefined : full,
  });
  const enc = one?.webrtc?.encodedFps;
  t.push({
    figure: "frames the encoder sends of the camera's 25 fps, one call",
    target: "≥ 24 fps",
    measured: `${fmt(enc, 1)} fps`,
    met: enc === undefined ? undefined : enc >= 24,
  });
  const on = r.windows.find((x) => x.kind === "bot-audio" && x.name.includes("audio on"));
  const off = r.windows.find((x) => x.kind === "bot-audio" && x.name.includes("audio off"));
  if (on || off)
    t.push({
      figure: "latency p50 with the camera's audio on / off",
      target: "—",
      measured: `${ms(on?.latency.p50)} / ${ms(off?.latency.p50)}`,
      met: "none",
    });
  return t;
}

function resourceTargets(r: Results): Target[] {
  const w = r.windows;
  const t: Target[] = [];
  const enc = w.filter((x) => x.kind === "encode-floor");
  const enc0 = enc.find((x) => x.calls === 0)?.cpu["bot"];
  const encK = enc.filter((x) => x.calls > 0).at(-1);
  const floor = enc0 !== undefined && encK !== undefined ? ((encK.cpu["bot"] ?? 0) - enc0) / encK.calls : undefined;
  const { first, last } = seriesSpan(w, "720p25");
  const perExtra =
    first && last && last.calls > first.calls ? ((last.cpu["bot"] ?? 0) - (first.cpu["bot"] ?? 0)) / (last.calls - first.calls) : undefined;
  t.push({
    figure: `CPU per extra 720p25 call (${first?.calls ?? "?"}→${last?.calls ?? "?"} calls, one camera)`,
    target: `≤ 1.1 × VP8 encode floor (${fmt(floor, 1)} % → ≤ ${fmt(floor === undefined ? undefined : floor * 1.1, 1)} %)`,
    measured: `${fmt(perExtra, 1)} % of a core (${fmt(perExtra !== undefined && floor !== undefined ? perExtra / floor : undefined, 2)} × the floor)`,
    met: perExtra === undefined || floor === undefined ? undefined : perExtra <= 1.1 * floor,
  });
  for (const [res, limit] of Object.entries(MEMORY_LIMIT_MB)) t.push(...memoryTargets(w, res, limit));
  // What 8 calls at full size get (the series runs without the encode budget; the overload phase has the targets).
  for (const e of w.filter((x) => x.kind === "bot" && x.calls >= 8)) {
    t.push({
      figure: `series: ${e.calls} calls over ${e.cameras} camera(s), ${e.resolution}, no encode budget (worst call; delivered size)`,
      target: "—",
      measured: `${fmt(e.fps.min, 1)} fps (mean ${fmt(e.fps.mean, 1)}), ${e.delivered.join(",") || "–"}`,
      met: e.fps.min === undefined ? undefined : "none",
    });
  }
  // One camera, the calls at full rate. (A starved camera ffmpeg that runs 2 s behind is restarted at the live edge,
  // a new session each time: the overloaded rows show those in their RTSP column, not counted here.)
  const sessions = w.filter((x) => x.kind === "bot" && x.cameras === 1 && x.rtspSessions !== undefined && (x.fps.min ?? 0) >= 0.95 * FPS);
  if (sessions.length > 0) {
    const worst = Math.max(...sessions.flatMap((x) => x.rtspSessions ?? []));
    t.push({
      figure: `RTSP sessions at a camera for 1…${Math.max(...sessions.map((x) => x.calls))} calls of it (at full rate)`,
      target: "1",
      measured: String(worst),
      met: worst <= 1,
    });
  }
  return t;
}

function talkbackTargets(r: Results): Target[] {
  const t: Target[] = [];
  for (const p of ["exec", "onvif", "matrixrtc"] as const) {
    const tb: TalkbackResult | undefined = r.talkback.find((x) => x.path === p);
    const ok = tb?.latencies.filter(Number.isFinite) ?? [];
    const p50 = percentile(ok, 50);
    const p95 = percentile(ok, 95);
    const why = tb?.note !== undefined ? ` (${tb.note})` : tb ? ` (${ok.length} bursts, ${tb.lost} lost)` : "";
    t.push({
      figure: `talkback ${p}: mouth → door p50`,
      target: "≤ 150 ms",
      measured: `${ms(p50)}${why}`,
      met: p50 === undefined ? undefined : p50 <= 150,
    });
    t.push({
      figure: `talkback ${p}: mouth → door p95`,
      target: "≤ 250 ms",
      measured: ms(p95),
      met: p95 === undefined ? undefined : p95 <= 250 && tb?.lost === 0,
    });
    if (p === "exec" && tb) {
      const minutes = (tb.at.at(-1) ?? 0) / 60;
      const change = tb.slopeMsPerMin === undefined ? undefined : tb.slopeMsPerMin * minutes;
      // Drift is latency that grows (a queue building up); a fall (a queue trimmed back) is not.
      t.push({
        figure: `talkback exec: rise over ${fmt(minutes, 1)} min (least-squares slope × duration)`,
        target: "≤ 20 ms",
        measured: `${fmt(change, 1)} ms (${fmt(tb.slopeMsPerMin, 2)} ms/min)`,
        met: change === undefined ? undefined : change <= 20,
      });
    }
  }
  for (const f of r.figures)
    t.push({ figure: f.what, target: "—", measured: `${fmt(f.value, 1)} ${f.unit}`, met: f.value === undefined ? undefined : "none" });
  const drift = r.windows.filter((x) => x.kind === "drift");
  if (drift.length > 0) {
    const p50s = drift.map((d) => d.latency.p50 ?? Number.NaN);
    const change = Math.max(...p50s.filter(Number.isFinite)) - Math.min(...p50s.filter(Number.isFinite));
    t.push({
      figure: `video drift: spread of per-minute p50 over ${drift.length} min, one 720p25 call`,
      target: "≤ 20 ms",
      measured: `${fmt(change)} ms (RSS ${fmt(drift[0]?.rssMB["bot"]?.mean)} → ${fmt(drift.at(-1)?.rssMB["bot"]?.mean)} MB)`,
      met: Number.isFinite(change) ? change <= 20 : undefined,
    });
  }
  return t;
}

/**
 * The overload phase (issue 14 item 5): a single call keeps the full picture and rate; up to the encode budget (4 ×
 * 720p25 on 2 cores) calls keep full size; past it every call keeps a steady rate at a smaller picture. "Steady":
 * the worst call's mean over the window at ≥ 15 fps (3/5 of the camera's 25; what the bench reached with six other
 * sessions loading the same 2 cores was 17.8), where without the budget 8 calls got 5.6 fps each (2.0 over 4 cameras),
 * and a picture that keeps up: the worst call's glass-to-glass p50 ≤ OVERLOAD_LATENCY_MS (each call's own, where the
 * run has them: pooled, one starved camera's calls would hardly move the p50). A rate alone passed 8 calls over 4
 * cameras at 16 fps whose picture ran 4.2 s behind (2026-12-02 06:28: the cameras' decoders starved).
 */
const OVERLOAD_LATENCY_MS = 250;

/** The worst call's latency p50 of a window (its own per call when recorded, else the pooled one). */
function worstP50(w: WindowResult): number | undefined {
  const own = (w.latencyP50PerCall ?? []).filter((x): x is number => x !== undefined);
  return own.length > 0 && own.length === w.latencyP50PerCall?.length ? Math.max(...own) : w.latency.p50;
}

/** Over the budget: undefined until the rate and the latency are known; a rate or size that fails fails at once. */
function overBudgetMet(fps: number | undefined, full: boolean, p50: number | undefined): boolean | undefined {
  if (fps === undefined) return undefined;
  if (fps < 15 || full) return false;
  return p50 === undefined ? undefined : p50 <= OVERLOAD_LATENCY_MS;
}
function overloadTargets(r: Results): Target[] {
  const t: Target[] = [];
  const sizes = (w: WindowResult): string => [...new Set(w.perCallSize ?? w.delivered)].join(",") || "–";
  for (const w of r.windows.filter((x) => x.kind === "overload")) {
    const min = w.fps.min;
    const measured = `${fmt(min, 1)} fps (mean ${fmt(w.fps.mean, 1)}), ${sizes(w)}`;
    const full = (w.perCallSize ?? w.delivered).every((s) => s === "1280x720");
    if (w.name.includes("no encode budget"))
      t.push({
        figure: `overload phase: ${String(w.calls)} calls over ${String(w.cameras)} camera(s) without the encode budget (worst call)`,
        target: "—",
        measured,
        met: "none",
      });
    else if (w.calls === 1)
      t.push({
        figure: "overload phase: a single 720p25 call gets full size and rate",
        target: "1280x720 at ≥ 24 fps",
        measured,
        met: min === undefined ? undefined : full && min >= 24,
      });
    else if (w.calls * frameCost(1280, 720) * FPS <= (w.encodeBudget ?? DEFAULT_MEGAPIXELS_PER_CORE * 1e6 * availableParallelism()))
      t.push({
        figure: `overload phase: ${String(w.calls)} calls over ${String(w.cameras)} camera(s), within the budget (worst call)`,
        target: `1280x720 at ≥ ${fmt(0.95 * FPS, 2)} fps each`,
        measured,
        met: min === undefined ? undefined : full && min >= 0.95 * FPS,
      });
    else
      t.push({
        figure: `overload phase: ${String(w.calls)} calls over ${String(w.cameras)} camera(s), over the budget (worst call)`,
        target: `≥ 15 fps each, smaller picture, p50 ≤ ${String(OVERLOAD_LATENCY_MS)} ms`,
        measured: `${measured}, p50 ${fmt(worstP50(w))} ms`,
        met: overBudgetMet(min, full, worstP50(w)),
      });
  }
  return t;
}

export function computeTargets(r: Results): Target[] {
  return [...startTargets(r), ...latencyTargets(r), ...resourceTargets(r), ...overloadTargets(r), ...talkbackTargets(r), ...rtcTargets(r)];
}

/** The targets as a markdown table (for docs/benchmark.md): only the figures this run measured. */
export function targetsMarkdown(targets: readonly Target[]): string {
  const esc = (s: string): string => s.replace(/\|/g, "\\|");
  const rows = targets
    .filter((t) => t.met !== undefined)
    .map((t) => `| ${esc(t.figure)} | ${esc(t.target)} | ${esc(t.measured)} | ${verdict(t)} |`);
  return ["| figure | target | measured | verdict |", "|---|---|---|---|", ...rows].join("\n");
}
