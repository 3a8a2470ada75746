/** Small statistics helpers. */

/** Linear-interpolated percentile of finite values (p in 0..100); undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const rank = (p / 100) * (v.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = v[lo] ?? 0;
  const b = v[hi] ?? a;
  return a + (b - a) * (rank - lo);
}

export function median(values: readonly number[]): number | undefined {
  return percentile(values, 50);
}

export function max(values: readonly number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? undefined : Math.max(...v);
}

export function mean(values: readonly number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length === 0 ? undefined : v.reduce((a, b) => a + b, 0) / v.length;
}

export interface LatencySummary {
  samples: number;
  misreads: number;
  p50: number | undefined;
  p95: number | undefined;
  max: number | undefined;
}

export function summarizeLatency(latencies: readonly number[]): LatencySummary {
  const ok = latencies.filter((x) => Number.isFinite(x));
  return { samples: ok.length, misreads: latencies.length - ok.length, p50: percentile(ok, 50), p95: percentile(ok, 95), max: max(ok) };
}

/** Formats a number with `digits` decimals, or "–" when undefined. */
export function fmt(x: number | undefined, digits = 0): string {
  return x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}
