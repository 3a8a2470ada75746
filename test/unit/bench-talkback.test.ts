import { describe, expect, it } from "vitest";
import { mouthToDoor, slope } from "../../bench/measure/talkback.ts";

const RATE = 8000;

/** Records of 20 ms (160 samples): silence, or a 1 kHz tone of amplitude 8000; `at` = arrival time, ms. */
function records(spec: readonly { at: number; tone: boolean }[]): { at: number; samples: Int16Array }[] {
  let phase = 0;
  return spec.map(({ at, tone }) => {
    const samples = new Int16Array(160);
    for (let i = 0; i < 160; i++) {
      samples[i] = tone ? Math.round(8000 * Math.sin(phase)) : 0;
      phase += (2 * Math.PI * 1000) / RATE;
    }
    return { at, samples };
  });
}

describe("bench talkback figures", () => {
  it("measures each onset to the arrival of the first tone after it, NaN for a burst that never arrived", () => {
    const recs = records([
      { at: 1000, tone: false },
      { at: 1020, tone: false },
      { at: 1085, tone: true }, // onset 1000 → 85 ms
      { at: 1105, tone: true },
      { at: 1125, tone: false },
      { at: 2000, tone: false }, // onset 1900: nothing
      { at: 3090, tone: false },
      { at: 3110, tone: true }, // onset 3000 → 110 ms
    ]);
    expect(mouthToDoor(recs, [1000, 1900, 3000], 1000, RATE, 2000)).toEqual([85, Number.NaN, 110]);
  });

  it("a tone that arrives before the onset is not counted for it", () => {
    const recs = records([
      { at: 990, tone: true },
      { at: 1010, tone: false },
      { at: 1070, tone: true },
    ]);
    expect(mouthToDoor(recs, [1000], 1000, RATE, 2000)).toEqual([70]);
  });

  it("slope is the least-squares fit, undefined without two points", () => {
    expect(slope([0, 1, 2, 3], [80, 82, 84, 86])).toBeCloseTo(2);
    expect(slope([0, 1, 2], [80, Number.NaN, 80])).toBeCloseTo(0);
    expect(slope([5], [1])).toBeUndefined();
  });
});
