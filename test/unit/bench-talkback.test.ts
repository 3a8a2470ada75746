import { describe, expect, it } from "vitest";
import { mouthToDoor, slope } from "../../bench/measure/talkback.ts";
import { outsideNetEq, slices, type LevelSample } from "../../bench/measure/talkback-levels.ts";

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

describe("bench talkback levels per slice", () => {
  it("puts each slice's burst latency median beside the mixer's queue, its trims and NetEq's delay per emitted sample", () => {
    const t0 = 1_000_000;
    const onsets = [t0, t0 + 1000, t0 + 2000, t0 + 3000];
    const latencies = [90, 100, 120, Number.NaN];
    const sample = (s: number, least: number, trimmed: number, delayS: number, emitted: number): LevelSample => ({
      at: t0 + s * 1000,
      leastHeldMs: least,
      meanHeldMs: least + 5,
      trimmedMs: trimmed,
      droppedMs: 0,
      receivedMs: s * 1000,
      jb: { delayS, targetS: delayS * 2, emitted, concealed: emitted / 100 },
    });
    // 48 000 samples a second (10 ms of them concealed); the first slice's samples waited 40 ms each, the second's 60 ms.
    const levels = [
      sample(0.5, 20, 0, 0, 0),
      sample(1.5, 22, 0, 1920, 48_000),
      sample(2.5, 45, 30, 4800, 96_000),
      sample(3.5, 47, 30, 7680, 144_000),
    ];
    const rows = slices(onsets, latencies, levels, 2);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ fromS: 0, bursts: 2, latencyP50: 95, mixerLeastMs: 21, mixerMeanMs: 26, trimmedMs: 0 });
    expect(rows[0]?.jitterBufferMs).toBeCloseTo(40, 6);
    expect(rows[0]?.jitterTargetMs).toBeCloseTo(80, 6);
    expect(rows[0]?.sinkRatePct).toBeCloseTo(100, 6);
    expect(rows[0]?.neteqRatePct).toBeCloseTo(100, 6);
    expect(rows[0]?.concealedMs).toBeCloseTo(10, 6);
    expect(rows[1]).toMatchObject({ fromS: 2, bursts: 1, latencyP50: 120, mixerLeastMs: 46, trimmedMs: 30 });
    expect(rows[1]?.jitterBufferMs).toBeCloseTo(60, 6);
    expect(rows[1]?.concealedMs).toBeCloseTo(20, 6);
    expect(slices([], [], levels, 60)).toEqual([]);
  });

  it("takes from each burst's latency NetEq's delay over the second its tone reached the door", () => {
    const t0 = 1_000_000;
    const sample = (s: number, delayS: number, emitted: number): LevelSample => ({
      at: t0 + s * 1000,
      leastHeldMs: 20,
      meanHeldMs: 30,
      trimmedMs: 0,
      droppedMs: 0,
      receivedMs: s * 1000,
      jb: { delayS, targetS: 0, emitted, concealed: 0 },
    });
    // NetEq held 40 ms over the first second, 65 ms over the second.
    const levels = [sample(0, 0, 0), sample(1, 1920, 48_000), sample(2, 1920 + 3120, 96_000)];
    const out = outsideNetEq([t0, t0 + 1000, t0 + 2000, t0 + 3000, t0 + 500], [100, 125, 90, Number.NaN, 30], levels);
    expect(out[0]).toBeCloseTo(60, 6);
    expect(out[1]).toBeCloseTo(60, 6);
    // After the last sample, and a burst that never arrived: nothing to compare.
    expect(out[2]).toBeNaN();
    expect(out[3]).toBeNaN();
    // 30 ms through a jitter buffer that held 40: the tone was another burst's.
    expect(out[4]).toBeNaN();
  });
});
