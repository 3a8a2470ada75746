/** The memory-per-call targets of issue 14 item 4 (720p25 ≤ 40 MB, 1080p25 ≤ 50 MB), from the series windows. */
import { FPS } from "../plan.ts";
import { fmt } from "../stats.ts";
import type { WindowResult } from "./results.ts";
import type { Target } from "./targets.ts";

/** Issue 14 item 4: memory per call, MB, by resolution (legacy series here; MatrixRTC's second call in matrixrtc.ts). */
export const MEMORY_LIMIT_MB = { "720p25": 40, "1080p25": 50 } as const;

/** The series' windows of one resolution on one camera, by call count: the first, and the last at full rate. */
export function seriesSpan(w: readonly WindowResult[], res: string): { first: WindowResult | undefined; last: WindowResult | undefined } {
  const bots = w.filter((x) => x.kind === "bot" && x.resolution === res && x.cameras === 1).sort((a, b) => a.calls - b.calls);
  const first = bots[0];
  // Up to the most calls still delivered at ≥ 95 % of the frame rate and at the camera's size: past that the
  // encoders are starved (their queues hold frames, which is load, not what a call costs) or the picture smaller.
  // None such (a machine too busy for even two calls at full rate): no last window, so the figures read "not measured"
  // (until 2026-12-04 it fell back to the most calls: a run beside a lint read 8 starved 1080p calls as "met").
  const size = first?.delivered[0];
  const healthy = bots.filter((x) => x.calls > 1 && (x.fps.min ?? 0) >= 0.95 * FPS && x.delivered.every((d) => d === size));
  return { first, last: healthy.at(-1) };
}

/**
 * Memory per call of one resolution, bot + its ffmpeg RSS (window means), one camera: per extra call (1 call → the
 * most calls at full rate and size: what each call adds once the camera runs), and per call against the idle bot
 * (the camera's ffmpeg, which runs from the first call on, spread over the calls: the figure of November's runs).
 */
export function memoryTargets(w: readonly WindowResult[], res: string, limit: number): Target[] {
  const rss = (x: WindowResult | undefined): number | undefined => x?.rssMB["bot"]?.mean;
  const idle = w.find((x) => x.kind === "idle" && x.resolution === res && x.cameras === 1 && x.name.includes("bot idle"));
  const { first: one, last: most } = seriesSpan(w, res);
  const idleRss = rss(idle);
  const oneRss = rss(one);
  const mostRss = rss(most);
  const perExtra =
    one && most && most.calls > one.calls && oneRss !== undefined && mostRss !== undefined
      ? (mostRss - oneRss) / (most.calls - one.calls)
      : undefined;
  const vsIdle = most && idleRss !== undefined && mostRss !== undefined ? (mostRss - idleRss) / most.calls : undefined;
  return [
    {
      figure: `memory per extra call, ${res} (bot + ffmpeg RSS, ${one?.calls ?? "?"}→${most?.calls ?? "?"} calls, one camera)`,
      target: `≤ ${limit} MB`,
      measured: perExtra === undefined ? "–" : `${fmt(perExtra, 1)} MB`,
      met: perExtra === undefined ? undefined : perExtra <= limit,
    },
    {
      figure: `memory per call, ${res} (bot + ffmpeg RSS, ${most?.calls ?? "?"} calls vs idle, the camera's ffmpeg included)`,
      target: `≤ ${limit} MB`,
      measured: vsIdle === undefined ? "–" : `${fmt(vsIdle, 1)} MB`,
      met: vsIdle === undefined ? undefined : vsIdle <= limit,
    },
  ];
}
