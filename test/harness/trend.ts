/**
 * Telling a plateau from growth in a series of samples (the soak test's RSS, V8 heap and descriptor counts after each
 * block of calls): the least-squares slope of the samples over a window of the run. A ratio of two samples (the end
 * against a baseline) carries the full noise of both: glibc's RSS after a full GC moves by a few MB from one sample
 * to the next, and one CI run read +11.5 % on a plateau (150 → 188 → 208 → 209 MB after 0/30/100/200 calls). A
 * fitted slope over many samples averages that noise away while a leak of a fixed size per call adds up to a slope
 * of that size. Pure logic, unit-tested in test/unit/trend.test.ts.
 */

export interface Sample {
  /** Where in the run (calls made so far). */
  x: number;
  /** What was measured there (e.g. kB of RSS). */
  y: number;
}

export interface Line {
  /** Change of y per unit of x (e.g. kB per call). */
  slope: number;
  intercept: number;
  /** Root-mean-square distance of the samples from the line: the noise the slope was fitted through. */
  residualRms: number;
  /** Standard error of the slope, from the residuals (undefined with fewer than 3 samples). */
  slopeStdErr: number | undefined;
  n: number;
}

/** Ordinary least-squares line through the samples; needs at least two distinct x. */
export function fitLine(samples: readonly Sample[]): Line {
  const n = samples.length;
  if (n < 2) throw new Error(`a line needs at least 2 samples, got ${n}`);
  const meanX = samples.reduce((s, p) => s + p.x, 0) / n;
  const meanY = samples.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of samples) {
    sxx += (p.x - meanX) ** 2;
    sxy += (p.x - meanX) * (p.y - meanY);
  }
  if (sxx === 0) throw new Error("a line needs samples at two different x at least");
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const sse = samples.reduce((s, p) => s + (p.y - (intercept + slope * p.x)) ** 2, 0);
  return {
    slope,
    intercept,
    residualRms: Math.sqrt(sse / n),
    slopeStdErr: n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : undefined,
    n,
  };
}

/** The line through the samples with `from <= x <= to` (the part of the run after the warm-up). */
export function fitWindow(samples: readonly Sample[], from: number, to: number): Line {
  return fitLine(samples.filter((p) => p.x >= from && p.x <= to));
}

/**
 * Theil–Sen slope: the median of the slopes between every pair of samples. One sample far off the line (glibc gives
 * 13 MB back to the kernel at one sample and takes it again by the next) moves it little, where it pulls the
 * least-squares slope: 36.8 kB/call by least squares, 24.8 by this, in one soak run with such a dip.
 */
export function medianSlope(samples: readonly Sample[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    for (let j = i + 1; j < samples.length; j++) {
      const a = samples[i];
      const b = samples[j];
      if (a !== undefined && b !== undefined && a.x !== b.x) slopes.push((b.y - a.y) / (b.x - a.x));
    }
  }
  if (slopes.length === 0) throw new Error("a slope needs samples at two different x at least");
  slopes.sort((p, q) => p - q);
  const mid = Math.floor(slopes.length / 2);
  return slopes.length % 2 === 1 ? (slopes[mid] ?? NaN) : ((slopes[mid - 1] ?? NaN) + (slopes[mid] ?? NaN)) / 2;
}
