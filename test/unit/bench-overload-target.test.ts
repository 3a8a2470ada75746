/**
 * The overload phase's over-the-budget verdict (bench/report/targets.ts): a steady rate at a smaller picture AND a
 * picture that keeps up, judged by the worst call's own p50 where the run recorded one per call.
 */
import { describe, expect, it } from "vitest";
import { Results, type WindowResult } from "../../bench/report/results.ts";
import { computeTargets, verdict } from "../../bench/report/targets.ts";

function overload(partial: Partial<WindowResult>): WindowResult {
  return {
    name: "overload: 8 calls, 4 cameras",
    kind: "overload",
    resolution: "720p25",
    calls: 8,
    cameras: 4,
    windowS: 20,
    delivered: ["320x180"],
    perCallSize: Array<string>(8).fill("320x180"),
    fps: { min: 20, mean: 21, perCall: Array<number>(8).fill(21) },
    latency: { samples: 3000, misreads: 0, p50: 120, p95: 200, max: 300 },
    encodeBudget: 120e6,
    cpu: {},
    rssMB: {},
    processes: {},
    ...partial,
  };
}

function judged(w: WindowResult): [string, string] {
  const r = new Results();
  r.windows.push(w);
  const row = computeTargets(r).find((t) => t.figure.includes("over the budget"));
  if (row === undefined) throw new Error("no over-the-budget row");
  return [row.measured, verdict(row)];
}

describe("overload over the budget", () => {
  it("is met at a steady rate, a smaller picture and a picture that keeps up", () => {
    expect(judged(overload({}))).toEqual(["20.0 fps (mean 21.0), 320x180, p50 120 ms", "met"]);
  });

  it("is not met when one camera's calls fall behind, though the pooled p50 looks fine", () => {
    const p50s = [110, 115, 120, 118, 2300, 2400, 112, 119];
    expect(judged(overload({ latencyP50PerCall: p50s }))).toEqual(["20.0 fps (mean 21.0), 320x180, p50 2400 ms", "NOT MET"]);
  });

  it("fails on the rate or a full-size picture even without a latency, and waits for one otherwise", () => {
    const noLatency = { samples: 0, misreads: 0, p50: undefined, p95: undefined, max: undefined };
    expect(judged(overload({ fps: { min: 9, mean: 10, perCall: [9] }, latency: noLatency }))[1]).toBe("NOT MET");
    expect(judged(overload({ perCallSize: ["1280x720"], delivered: ["1280x720"], latency: noLatency }))[1]).toBe("NOT MET");
    expect(judged(overload({ latency: noLatency }))[1]).toBe("not measured");
  });
});
