import { describe, expect, it } from "vitest";
import { fitLine, fitWindow, medianSlope, type Sample } from "../harness/trend.ts";

/** A fixed pseudo-random sequence in [-1, 1) (so the test is the same every run). */
function noise(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
}

/** RSS-like samples every 20 calls from 100 to 400: a level, a growth per call, and ± `jitterKb` of noise. */
function run(levelKb: number, kbPerCall: number, jitterKb: number, seed: number): Sample[] {
  const r = noise(seed);
  const out: Sample[] = [];
  for (let call = 100; call <= 400; call += 20) out.push({ x: call, y: levelKb + kbPerCall * call + jitterKb * r() });
  return out;
}

describe("fitLine", () => {
  it("recovers an exact line", () => {
    const line = fitLine([
      { x: 0, y: 5 },
      { x: 10, y: 25 },
      { x: 20, y: 45 },
    ]);
    expect(line.slope).toBeCloseTo(2, 12);
    expect(line.intercept).toBeCloseTo(5, 12);
    expect(line.residualRms).toBeCloseTo(0, 9);
    expect(line.slopeStdErr).toBeCloseTo(0, 9);
  });

  it("a plateau with noise has a slope near 0; the same noise on top of a 20 kB/call leak does not hide it", () => {
    for (let seed = 1; seed <= 200; seed++) {
      // ± 1 MB on 217 MB: about twice the scatter of the soak's samples about their line (0.3 MB rms, README).
      const flat = fitLine(run(217_000, 0, 1000, seed));
      const leak = fitLine(run(217_000, 20, 1000, seed));
      expect(Math.abs(flat.slope)).toBeLessThan(6);
      expect(leak.slope).toBeGreaterThan(14);
      expect(flat.residualRms).toBeLessThan(1000);
    }
  });

  it("refuses what is not a line", () => {
    expect(() => fitLine([{ x: 1, y: 1 }])).toThrow(/at least 2/);
    expect(() =>
      fitLine([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]),
    ).toThrow(/two different x/);
    expect(
      fitLine([
        { x: 1, y: 1 },
        { x: 2, y: 2 },
      ]).slopeStdErr,
    ).toBeUndefined();
  });
});

describe("fitWindow", () => {
  it("leaves out the warm-up: a steep start followed by a plateau is flat over the window", () => {
    // The shape of a CI run that failed the old rule (end < 110 % of the 30-call figure): 150 MB before the first
    // call, 188 after 30, 208 after 100 and on.
    const samples: Sample[] = [{ x: 0, y: 150_000 }, { x: 10, y: 175_000 }, { x: 30, y: 188_000 }, ...run(208_000, 0, 0, 1)];
    expect(fitWindow(samples, 100, 400).slope).toBeCloseTo(0, 9);
    expect(fitWindow(samples, 100, 400).n).toBe(16);
    expect(fitLine(samples).slope).toBeGreaterThan(50);
  });
});

describe("medianSlope", () => {
  it("is the slope of a line, and one sample far off the line hardly moves it (least squares it does)", () => {
    const line = run(217_000, 10, 0, 1);
    expect(medianSlope(line)).toBeCloseTo(10, 9);
    // RSS 13 MB lower at one sample (glibc trimmed its main heap there), as in a soak run.
    const dip = line.map((p) => (p.x === 140 ? { ...p, y: p.y - 13_000 } : p));
    expect(medianSlope(dip)).toBeLessThan(14);
    expect(fitLine(dip).slope).toBeGreaterThan(20);
    expect(medianSlope(run(217_000, 20, 1000, 3))).toBeGreaterThan(14);
    expect(
      medianSlope([
        { x: 0, y: 0 },
        { x: 1, y: 1 },
      ]),
    ).toBe(1);
    expect(() =>
      medianSlope([
        { x: 1, y: 1 },
        { x: 1, y: 2 },
      ]),
    ).toThrow(/two different x/);
  });
});
