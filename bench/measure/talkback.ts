/**
 * Mouth → door latency from a recording at the door (records of arrival time + 8 kHz s16le samples, as
 * test/harness/rtsp-camera.ts readBackchannel reads them) and the callee's talk onsets: for each onset, the arrival
 * of the first 10 ms window after it that carries the tone. Pure functions, unit-tested (test/unit/bench-talkback.test.ts).
 */
import type { BackchannelRecord } from "../../test/harness/rtsp-camera.ts";
import { toneWindows } from "../../test/harness/tone-analysis.ts";

const WINDOW_MS = 10;

/** Per onset: ms to the first window with the tone (amplitude > minAmplitude) that arrived after it; NaN if none did. */
export function mouthToDoor(
  records: readonly BackchannelRecord[],
  onsets: readonly number[],
  hz: number,
  rate: number,
  minAmplitude: number,
): number[] {
  const total = records.reduce((n, r) => n + r.samples.length, 0);
  const samples = new Int16Array(total);
  /** Arrival time of each sample's record. */
  const ends: { end: number; at: number }[] = [];
  let at = 0;
  for (const r of records) {
    samples.set(r.samples, at);
    at += r.samples.length;
    ends.push({ end: at, at: r.at });
  }
  const n = Math.round((rate * WINDOW_MS) / 1000);
  const hits: number[] = [];
  let rec = 0;
  for (const w of toneWindows(samples, rate, [hz], WINDOW_MS)) {
    if ((w.amplitude[hz] ?? 0) <= minAmplitude) continue;
    // The window is complete at the door when the record holding its last sample arrived.
    const last = Math.round(w.at * rate) + n - 1;
    while (rec < ends.length - 1 && (ends[rec]?.end ?? 0) <= last) rec++;
    const arrival = ends[rec]?.at;
    if (arrival !== undefined) hits.push(arrival);
  }
  return onsets.map((t0, i) => {
    const next = onsets[i + 1] ?? Infinity;
    const hit = hits.find((h) => h >= t0 && h < next);
    return hit === undefined ? Number.NaN : hit - t0;
  });
}

/** Least-squares slope of y over x (undefined with fewer than 2 distinct x). */
export function slope(xs: readonly number[], ys: readonly number[]): number | undefined {
  const pts = xs.map((x, i) => [x, ys[i] ?? Number.NaN] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (pts.length < 2) return undefined;
  const mx = pts.reduce((s, [x]) => s + x, 0) / pts.length;
  const my = pts.reduce((s, [, y]) => s + y, 0) / pts.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) * (x - mx);
  }
  return den > 0 ? num / den : undefined;
}

/** Whether the records that arrived at or after `since` carry the tone (false when none arrived). */
export function toneHeardSince(
  records: readonly BackchannelRecord[],
  since: number,
  hz: number,
  rate: number,
  minAmplitude: number,
): boolean {
  const recent = records.filter((r) => r.at >= since);
  return recent.some((r) =>
    toneWindows(r.samples, rate, [hz], (r.samples.length / rate) * 1000).some((w) => (w.amplitude[hz] ?? 0) > minAmplitude),
  );
}
