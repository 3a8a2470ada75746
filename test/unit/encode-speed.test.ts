/**
 * The encode budget's share for the machine (encode-speed.ts) from the calls' sender figures, and the watch that
 * applies it (encode-speed-watch.ts). Pure logic: the figures are what wrtc's getStats gives (seconds of encoding,
 * frames, frame size); the e2e bench measures the effect on real calls.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import {
  EncodeSpeed,
  MIN_FRAMES,
  MIN_SHARE,
  REFERENCE_MS_PER_MEGAPIXEL,
  WINDOWS_KEPT,
  type EncodeReading,
} from "../../src/media/encode-speed.ts";
import { frameCost } from "../../src/media/encode-budget.ts";
import { EncodeSpeedWatch, type CallEncodeFigures } from "../../src/media/encode-speed-watch.ts";

/** A 720p frame as the budget counts it: its pixels and the per-frame part (encode-budget.ts). */
const MPX_720P = frameCost(1280, 720) / 1e6;

/** A reading after `frames` frames of `msPerFrame` each at width × height, at 25 fps from time 0. */
function reading(frames: number, msPerFrame: number, width = 1280, height = 720): EncodeReading {
  return { framesEncoded: frames, totalEncodeTime: (frames * msPerFrame) / 1000, width, height, resolutionChanges: 0, at: frames * 40 };
}

describe("EncodeSpeed", () => {
  it("is 1 until a window of enough frames was measured", () => {
    const s = new EncodeSpeed();
    s.note("a", reading(0, 12));
    s.note("a", reading(MIN_FRAMES - 1, 12));
    expect(s.msPerMegapixel).toBeUndefined();
    expect(s.share()).toBe(1);
    s.note("a", reading(MIN_FRAMES, 12));
    expect(s.msPerMegapixel).toBeCloseTo(12 / MPX_720P, 6);
    // 12 ms a 720p frame where the default assumes 5: the budget's share is 5/12.
    expect(s.share()).toBeCloseTo(REFERENCE_MS_PER_MEGAPIXEL / (12 / MPX_720P), 6);
    expect(s.share()).toBeCloseTo(5 / 12, 6);
  });

  it("is the median of the last windows: one busy or one idle window does not carry it", () => {
    const s = new EncodeSpeed();
    s.note("a", reading(0, 0));
    s.note("a", { ...reading(100, 0), totalEncodeTime: 1.0 }); // 10 ms a frame
    s.note("a", { ...reading(200, 0), totalEncodeTime: 1.8 }); // 8 ms a frame
    s.note("a", { ...reading(300, 0), totalEncodeTime: 3.8 }); // 20 ms a frame (busy)
    expect(s.msPerMegapixel).toBeCloseTo(10 / MPX_720P, 6);
    s.note("a", { ...reading(400, 0), totalEncodeTime: 3.9 }); // 1 ms a frame (a still picture)
    expect(s.msPerMegapixel).toBeCloseTo(9 / MPX_720P, 6);
  });

  it(`keeps only the last ${String(WINDOWS_KEPT)} windows: a machine that became slower is followed`, () => {
    const s = new EncodeSpeed();
    let frames = 0;
    let seconds = 0;
    const window = (ms: number): void => {
      frames += 100;
      seconds += (100 * ms) / 1000;
      s.note("a", { ...reading(frames, 0), totalEncodeTime: seconds });
    };
    s.note("a", reading(0, 0));
    for (let i = 0; i < WINDOWS_KEPT; i++) window(5);
    expect(s.share()).toBeCloseTo(5 / 5, 6);
    for (let i = 0; i < Math.ceil(WINDOWS_KEPT / 2); i++) window(10);
    expect(s.share()).toBeCloseTo(5 / 10, 6);
  });

  it("a machine as fast as the reference or faster keeps the whole budget; a very slow one gets at least MIN_SHARE", () => {
    const fast = new EncodeSpeed();
    fast.note("a", reading(0, 2));
    fast.note("a", reading(150, 2));
    expect(fast.share()).toBe(1);
    const slow = new EncodeSpeed();
    slow.note("a", reading(0, 200));
    slow.note("a", reading(150, 200));
    expect(slow.share()).toBe(MIN_SHARE);
  });

  it("does not measure small pictures, slow windows, a size change inside a window, or a counter that went back", () => {
    const s = new EncodeSpeed();
    // 640×480 (0.31 Mpx): below MIN_MEGAPIXELS (the budget's own scaled pictures must not feed back into the estimate).
    s.note("small", reading(0, 3, 640, 480));
    s.note("small", reading(200, 3, 640, 480));
    // The size changed between the readings: a new window starts, nothing measured.
    s.note("resized", reading(0, 5, 1280, 720));
    s.note("resized", reading(200, 5, 640, 360));
    // Same size at both ends, but libwebrtc changed it in between.
    s.note("adapted", reading(0, 2));
    s.note("adapted", { ...reading(200, 2), resolutionChanges: 2 });
    // Counters that went back (a new sender): a new window.
    s.note("restarted", reading(500, 30));
    s.note("restarted", reading(150, 30));
    // The offline picture: 2 frames a second.
    s.note("offline", { ...reading(0, 1), at: 0 });
    s.note("offline", { ...reading(120, 1), at: 60_000 });
    expect(s.msPerMegapixel).toBeUndefined();
    // 1920×1080 is measured.
    s.note("fhd", reading(0, 20, 1920, 1080));
    s.note("fhd", reading(100, 20, 1920, 1080));
    expect(s.msPerMegapixel).toBeCloseTo(20 / (frameCost(1920, 1080) / 1e6), 6);
  });

  it("windows are per call, and a call that is gone is forgotten", () => {
    const s = new EncodeSpeed();
    s.note("a", reading(0, 10));
    s.note("b", reading(1000, 10));
    s.keepOnly(new Set(["b"]));
    // "a" starts again from this reading: 100 frames since its first reading would have been a window.
    s.note("a", reading(100, 10));
    expect(s.msPerMegapixel).toBeUndefined();
    s.note("b", reading(1100, 10));
    expect(s.msPerMegapixel).toBeCloseTo(10 / MPX_720P, 6);
  });
});

describe("EncodeSpeedWatch", () => {
  function figures(callId: string, r: EncodeReading): CallEncodeFigures {
    return {
      callId,
      video: {
        width: r.width,
        height: r.height,
        counters: { framesEncoded: r.framesEncoded, totalEncodeTime: r.totalEncodeTime },
        resolutionChanges: r.resolutionChanges,
      },
    };
  }

  const watches: EncodeSpeedWatch[] = [];
  afterEach(() => {
    for (const w of watches.splice(0)) w.stop();
  });
  /** A started watch (its own timer an hour apart: the test ticks it). */
  function started(watch: EncodeSpeedWatch): EncodeSpeedWatch {
    watches.push(watch);
    watch.start();
    return watch;
  }

  it("applies the share once it moved by a tenth or more, and says so once", async () => {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    let next: CallEncodeFigures[] = [];
    const applied: number[] = [];
    const watch = started(
      new EncodeSpeedWatch(
        () => Promise.resolve(next),
        (share) => applied.push(share),
        log,
        3_600_000,
      ),
    );
    next = [figures("a", reading(0, 12)), { callId: "ringing", video: undefined }];
    await watch.tick();
    next = [figures("a", reading(125, 12))];
    await watch.tick();
    expect(applied).toHaveLength(1);
    expect(applied[0]).toBeCloseTo(5 / 12, 6);
    // 11.5 ms: the share moves by less than a tenth: not applied again.
    next = [figures("a", { ...reading(250, 0), totalEncodeTime: 1.5 + 125 * 0.0115 })];
    await watch.tick();
    expect(applied).toHaveLength(1);
    // Faster windows: once the median moved the share by a tenth, it is applied again (upwards as well).
    let frames = 250;
    let seconds = 1.5 + 125 * 0.0115;
    while (applied.length < 2 && frames < 2000) {
      frames += 125;
      seconds += 125 * 0.006;
      next = [figures("a", { ...reading(frames, 0), totalEncodeTime: seconds })];
      await watch.tick();
    }
    expect(applied).toHaveLength(2);
    expect(applied[1]).toBeGreaterThanOrEqual((applied[0] ?? 0) * 1.1);
    const said = lines
      .map((l) => JSON.parse(l) as { msg: string; msPer720pFrame?: number })
      .filter((l) => l.msg.includes("measured VP8 speed"));
    expect(said).toHaveLength(2);
    expect(said[0]?.msPer720pFrame).toBe(12);
  });

  /**
   * A started watch whose readings fail as `failing` says until `recover()`, then report 20 ms a 720p frame (the
   * lowest share); with what it logged and applied.
   */
  function failingThenWorking(failing: () => Promise<CallEncodeFigures[]>, everyMs: number) {
    const lines: string[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const applied: number[] = [];
    let failed = true;
    let n = 0;
    const watch = started(
      new EncodeSpeedWatch(
        () => {
          if (failed) return failing();
          n += 100;
          return Promise.resolve([figures("a", reading(n, 20))]);
        },
        (share) => applied.push(share),
        log,
        everyMs,
      ),
    );
    return {
      watch,
      lines,
      applied,
      recover: () => {
        failed = false;
      },
    };
  }

  it("a failed reading is logged and the watch goes on", async () => {
    const { watch, lines, applied, recover } = failingThenWorking(() => Promise.reject(new Error("getStats failed")), 3_600_000);
    await watch.tick();
    expect(lines.join("")).toContain("getStats failed");
    recover();
    await watch.tick();
    await watch.tick();
    expect(applied).toHaveLength(1);
    expect(applied[0]).toBeCloseTo(MIN_SHARE, 6);
  });

  it("a reading with no answer is given up after everyMs: the next one starts afresh", async () => {
    // everyMs 50: the timer (also 50 ms) ticks by itself; the first reading never settles.
    const { watch, lines, applied, recover } = failingThenWorking(() => new Promise<CallEncodeFigures[]>(() => undefined), 50);
    await watch.tick();
    expect(lines.join("")).toContain("gave no answer within 50 ms");
    recover();
    await watch.tick();
    await watch.tick();
    expect(applied[0]).toBeCloseTo(MIN_SHARE, 6);
  });

  it("a reading that ends after stop() changes nothing", async () => {
    let release: (v: CallEncodeFigures[]) => void = () => undefined;
    const applied: number[] = [];
    const watch = started(
      new EncodeSpeedWatch(
        () =>
          new Promise<CallEncodeFigures[]>((resolve) => {
            release = resolve;
          }),
        (share) => applied.push(share),
        pino({ level: "silent" }),
        3_600_000,
      ),
    );
    const first = watch.tick();
    release([figures("a", reading(0, 20))]);
    await first;
    const second = watch.tick();
    watch.stop();
    release([figures("a", reading(200, 20))]);
    await second;
    expect(watch.msPerMegapixel).toBeUndefined();
    expect(applied).toEqual([]);
  });
});
