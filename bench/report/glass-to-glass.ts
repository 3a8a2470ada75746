/** Issue 14's glass-to-glass targets (720p25), one pair for every path the bench measures: written once. */
import { fmt } from "../stats.ts";
import type { WindowResult } from "./results.ts";
import type { Target } from "./targets.ts";

export const GLASS_TO_GLASS_P50_MS = 100;
export const GLASS_TO_GLASS_P95_MS = 130;

/** The p50 and p95 targets for `window`'s latency; `what` ends the figure's name, `note` follows the target. */
export function glassToGlassTargets(window: WindowResult | undefined, what: string, note = ""): Target[] {
  const pair: [string, number | undefined, number][] = [
    ["p50", window?.latency.p50, GLASS_TO_GLASS_P50_MS],
    ["p95", window?.latency.p95, GLASS_TO_GLASS_P95_MS],
  ];
  return pair.map(([p, value, limit]) => ({
    figure: what.replace("{p}", p),
    target: `≤ ${String(limit)} ms${note}`,
    measured: value === undefined ? "–" : `${fmt(value)} ms`,
    met: value === undefined ? undefined : value <= limit,
  }));
}
