import { describe, expect, it } from "vitest";
import { isProgressLine } from "../../src/media/ffmpeg-process.ts";
import { LagRise, LagWatch } from "../../src/media/lag-watch.ts";

const report = (us: number): string => `out_time_us=${us}`;

describe("LagWatch", () => {
  it("keeping up: a constant offset (connect and probe time) is no lag", () => {
    const w = new LagWatch(1500, 2000);
    // Output starts 1.3 s after the wall clock's zero and then runs in step.
    for (let t = 1300; t < 60_000; t += 500) expect(w.line(report((t - 1300) * 1000), t)).toBe(false);
    expect(w.lagMs).toBe(0);
  });

  it("falling behind: the lag grows, and past the limit for the hold time it asks for a resync", () => {
    const w = new LagWatch(1500, 2000);
    let fired: number | undefined;
    // ffmpeg runs at 0.7x: output time advances 350 ms per 500 ms of wall clock.
    for (let i = 0; i < 100 && fired === undefined; i++) {
      if (w.line(report(i * 350_000 + 1), i * 500)) fired = i * 500;
    }
    // 1.5 s of lag is reached after 5 s (0.3 s per second); held 2 s more.
    expect(fired).toBeGreaterThanOrEqual(7000);
    expect(fired).toBeLessThanOrEqual(7500);
    expect(w.lagMs).toBeGreaterThan(1500);
  });

  it("a short burst behind that catches up again does not ask for a resync", () => {
    const w = new LagWatch(1500, 2000);
    expect(w.line(report(1_000_000), 1000)).toBe(false);
    expect(w.line(report(1_000_000), 3000)).toBe(false); // 2 s stopped: 2 s behind
    expect(w.lagMs).toBe(2000);
    expect(w.line(report(3_900_000), 4000)).toBe(false); // catching up
    expect(w.line(report(4_500_000), 4500)).toBe(false);
    expect(w.lagMs).toBe(0);
  });

  it("ignores other lines, N/A and zero output times", () => {
    const w = new LagWatch(1500, 0);
    expect(w.line("out_time_us=N/A", 10_000)).toBe(false);
    expect(w.line("out_time_us=0", 10_000)).toBe(false);
    expect(w.line("frame=12", 10_000)).toBe(false);
    expect(w.lagMs).toBe(0);
  });

  it("reads the GStreamer front end's per-frame timestamps the same way", () => {
    const w = new LagWatch(1500, 2000);
    const frame = (ms: number): string =>
      `/GstPipeline:pipeline0/GstIdentity:lagprobe: last-message = chain   ******* (lagprobe:sink) (345600 bytes, dts: none, pts: 0:00:${(ms / 1000).toFixed(9).padStart(12, "0")}, duration: 0:00:00.040000000, offset: -1) 0x7f`;
    // In step with the wall clock (0.4 s after it), then frames at half the camera's pace.
    for (let t = 400; t <= 4400; t += 40) expect(w.line(frame(t - 400), t)).toBe(false);
    expect(w.lagMs).toBe(0);
    let fired: number | undefined;
    for (let i = 1; i < 400 && fired === undefined; i++) if (w.line(frame(4000 + i * 20), 4400 + i * 40)) fired = 4400 + i * 40;
    // 1.5 s behind after 3 s more (half a second per second), held 2 s more.
    expect(fired).toBeGreaterThanOrEqual(9400);
    expect(fired).toBeLessThanOrEqual(9500);
  });

  it("tells progress lines from log lines", () => {
    expect(isProgressLine("out_time_us=1500000")).toBe(true);
    expect(isProgressLine("progress=continue")).toBe(true);
    expect(isProgressLine("[rtsp @ 0x55] method SETUP failed: 461 Unsupported transport")).toBe(false);
    expect(isProgressLine("Stream #0:0: Video: h264 (High), yuv420p, 1280x720")).toBe(false);
  });
});

describe("LagRise", () => {
  // The camera run's settings: 500 ms of rise within 10 s, held 1 s.
  const rise = (): LagRise => new LagRise(500, 1000, 10_000);

  it("a front end falling behind steadily is reported after the hold, then once a window while it goes on", () => {
    const w = rise();
    const fired: number[] = [];
    // In step for 5 s, then output time advances 350 ms per 500 ms of wall clock (0.3 s behind a second).
    for (let t = 0; t <= 5000; t += 500) expect(w.line(report(t * 1000 + 1), t + 400)).toBe(false);
    for (let i = 1; i <= 60; i++) if (w.line(report((5000 + i * 350) * 1000), 5400 + i * 500)) fired.push(5400 + i * 500);
    // 500 ms of rise after ~1.7 s (at 7400 the rise is 600), held 1 s more; then every 10 s.
    expect(fired).toEqual([8400, 18400, 28400]);
    expect(w.riseMs).toBeGreaterThan(2000);
  });

  it("a camera clock drifting from the wall clock is never reported, though the lag adds up over hours", () => {
    const w = rise();
    const lag = new LagWatch(2000, 3000);
    let reported = false;
    let resynced = false;
    // The camera's clock 200 ppm slow: output time 0.9998 of the wall clock, 3 hours of reports every 0.5 s.
    for (let t = 0; t <= 3 * 3600_000; t += 500) {
      const line = report(Math.round(t * 0.9998 * 1000) + 1);
      reported ||= w.line(line, t + 400);
      resynced ||= lag.line(line, t + 400);
    }
    expect(reported).toBe(false);
    expect(w.riseMs).toBeLessThan(5);
    expect(resynced).toBe(true); // 2.16 s behind by then: LagWatch's resync is what catches drift
  });

  it("a network stall that is caught up at once is not reported, however long the stall", () => {
    const w = rise();
    for (let t = 0; t <= 5000; t += 500) expect(w.line(report(t * 1000 + 1), t + 400)).toBe(false);
    // Nothing for 3 s, then the frames behind the stall come in a burst and the output is live again.
    expect(w.line(report(5_500_000), 8400)).toBe(false);
    expect(w.riseMs).toBeCloseTo(2500, 0);
    for (let t = 6000; t <= 8000; t += 100) expect(w.line(report(t * 1000), 8400 + (t - 6000) / 20)).toBe(false);
    expect(w.line(report(8_500_000), 8900)).toBe(false);
    expect(w.riseMs).toBeLessThan(1);
  });

  it("once caught up, a new fall is reported at once (after the hold), not a window after the last report", () => {
    const w = rise();
    let t = 400;
    let out = 1;
    const step = (outStepMs: number): boolean => {
      t += 500;
      out += outStepMs;
      return w.line(report(out * 1000), t);
    };
    const fired: number[] = [];
    // Falling behind (250 ms a step, 2 s in 8 steps), reported; then catching up at once.
    for (let i = 0; i < 8; i++) if (step(250)) fired.push(t);
    expect(fired).toHaveLength(1);
    step(2500);
    expect(w.riseMs).toBeLessThan(250);
    // Falling behind again: reported again 4.5 s after the first report, within its window.
    for (let i = 0; i < 8; i++) if (step(250)) fired.push(t);
    expect(fired).toHaveLength(2);
    expect((fired[1] ?? 0) - (fired[0] ?? 0)).toBeLessThan(10_000);
  });

  it("ignores other lines, N/A and zero output times", () => {
    const w = new LagRise(500, 0, 10_000);
    expect(w.line("out_time_us=N/A", 10_000)).toBe(false);
    expect(w.line("out_time_us=0", 20_000)).toBe(false);
    expect(w.line("progress=continue", 30_000)).toBe(false);
    expect(w.riseMs).toBe(0);
  });
});
