/** How calls degrade under overload (src/media/encode-budget.ts), row by row (the scaler: frame-scaler.test.ts). */
import { describe, expect, it } from "vitest";
import {
  cameraCost,
  camerasCost,
  DEFAULT_MEGAPIXELS_PER_CORE,
  planDivisors,
  scaledSize,
  type CameraLoad,
} from "../../src/media/encode-budget.ts";

const cam = (name: string, encodes: number, width = 1280, height = 720, fps = 25): CameraLoad => ({ name, width, height, fps, encodes });
/** The default budget on 2 cores (the build machine): 120 Mpx/s, each frame counted with 0.2 Mpx more than its pixels. */
const TWO_CORES = 2 * DEFAULT_MEGAPIXELS_PER_CORE * 1e6;

const rows: [name: string, cameras: CameraLoad[], budget: number, divisors: Record<string, number>][] = [
  ["no calls: full size", [cam("a", 0)], TWO_CORES, { a: 1 }],
  ["one 720p25 call: full size", [cam("a", 1)], TWO_CORES, { a: 1 }],
  ["a single call keeps full size even over the budget (4K60)", [cam("a", 1, 3840, 2160, 60)], TWO_CORES, { a: 1 }],
  ["a single call keeps full size on a tiny budget", [cam("a", 1)], 1, { a: 1 }],
  ["4 × 720p25 on one camera fit 2 cores (112 Mpx/s)", [cam("a", 4)], TWO_CORES, { a: 1 }],
  ["5 × 720p25 on one camera do not (140): half size", [cam("a", 5)], TWO_CORES, { a: 2 }],
  ["8 × 720p25 on one camera: half size (86 Mpx/s)", [cam("a", 8)], TWO_CORES, { a: 2 }],
  ["8 × 1080p25 on one camera: half size (144 Mpx/s) does not fit either: a quarter (66)", [cam("a", 8, 1920, 1080)], TWO_CORES, { a: 4 }],
  [
    "8 calls over 4 cameras (2 each) on 172 Mpx/s: the first three by name are halved (121, and 50 for the further cameras), the fourth stays full size",
    [cam("d", 2), cam("c", 2), cam("b", 2), cam("a", 2)],
    172e6,
    { a: 2, b: 2, c: 2, d: 1 },
  ],
  ["the camera with more calls goes first", [cam("a", 1), cam("b", 4)], TWO_CORES, { a: 1, b: 2 }],
  ["a camera without calls is never scaled", [cam("a", 0), cam("b", 8)], TWO_CORES, { a: 1, b: 2 }],
  ["no budget (0): never scaled", [cam("a", 8)], 0, { a: 1 }],
  ["nothing fits: every camera with calls at a quarter (best effort)", [cam("a", 20), cam("b", 20)], 1, { a: 4, b: 4 }],
  ["a smaller camera costs less: 8 × 640x360 fit (86 Mpx/s)", [cam("a", 8, 640, 360)], TWO_CORES, { a: 1 }],
  ["the part per frame counts: 8 × 640x360 on 72 Mpx/s (about the slow machine's 73) get 320x180", [cam("a", 8, 640, 360)], 72e6, { a: 2 }],
  [
    "8 × 720p25 over 4 cameras (2 each) on 2 cores: with the further cameras' 50 Mpx/s, two halved and two quartered (119)",
    [cam("a", 2), cam("b", 2), cam("c", 2), cam("d", 2)],
    TWO_CORES,
    { a: 4, b: 4, c: 2, d: 2 },
  ],
  [
    "4 × 720p25, one call a camera, on 2 cores: 112 Mpx/s of encodes and 50 of further cameras: three halved (111)",
    [cam("a", 1), cam("b", 1), cam("c", 1), cam("d", 1)],
    TWO_CORES,
    { a: 2, b: 2, c: 2, d: 1 },
  ],
  [
    "two cameras, 3 + 1 calls at 720p25: 112 Mpx/s of encodes and the second camera's own 17 (129): the busier one halved",
    [cam("a", 3), cam("b", 1)],
    TWO_CORES,
    { a: 2, b: 1 },
  ],
  ["8 cores take 17 × 720p25 at full size", [cam("a", 17)], 8 * DEFAULT_MEGAPIXELS_PER_CORE * 1e6, { a: 1 }],
];

describe("planDivisors", () => {
  it.each(rows)("%s", (_name, cameras, budget, divisors) => {
    expect(Object.fromEntries(planDivisors(cameras, budget))).toEqual(divisors);
  });

  it("whatever the calls, the plan fits the budget unless every camera is at a quarter", () => {
    for (let calls = 0; calls <= 16; calls++) {
      for (const split of [1, 2, 4]) {
        const cameras = Array.from({ length: split }, (_, i) =>
          cam(`c${String(i)}`, Math.floor(calls / split) + (i < calls % split ? 1 : 0)),
        );
        const plan = planDivisors(cameras, TWO_CORES);
        const total = cameras.reduce((s, c) => s + cameraCost(c, plan.get(c.name) ?? 1), camerasCost(cameras));
        const allSmallest = cameras.every((c) => c.encodes === 0 || plan.get(c.name) === 4);
        expect(total <= TWO_CORES || allSmallest || calls <= 1).toBe(true);
      }
    }
  });
});

describe("scaledSize", () => {
  it.each([
    [1280, 720, 1, 1280, 720],
    [1280, 720, 2, 640, 360],
    [1280, 720, 4, 320, 180],
    [1920, 1080, 2, 960, 540],
    [1920, 1080, 4, 480, 270],
    [1366, 766, 2, 682, 382],
    [4, 4, 4, 2, 2],
  ])("%i x %i / %i → %i x %i", (w, h, d, ow, oh) => {
    expect(scaledSize(w, h, d)).toEqual({ width: ow, height: oh });
  });
});
