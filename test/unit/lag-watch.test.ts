import { describe, expect, it } from "vitest";
import { isProgressLine } from "../../src/media/ffmpeg-process.ts";
import { LagWatch } from "../../src/media/lag-watch.ts";

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
