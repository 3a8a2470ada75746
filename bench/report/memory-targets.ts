/** The memory-per-call targets of issue 14 item 4 (720p25 ≤ 40 MB, 1080p25 ≤ 50 MB), from the series windows. */
import { fmt } from "../stats.ts";
import type { WindowResult } from "./results.ts";
import type { Target } from "./targets.ts";

/**
 * Memory per call of one resolution, bot + its ffmpeg RSS (window means), one camera: per extra call (1 call → the
 * most calls: what each call adds once the camera runs), and per call against the idle bot (the camera's ffmpeg, which
 * runs from the first call on, spread over the calls: the figure of November's runs).
 */
export function memoryTargets(w: readonly WindowResult[], res: string, limit: number): Target[] {
  const rss = (x: WindowResult | undefined): number | undefined => x?.rssMB["bot"]?.mean;
  const idle = w.find((x) => x.kind === "idle" && x.resolution === res && x.cameras === 1 && x.name.includes("bot idle"));
  const bots = w.filter((x) => x.kind === "bot" && x.resolution === res && x.cameras === 1).sort((a, b) => a.calls - b.calls);
  const one = bots[0];
  const most = bots.at(-1);
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
