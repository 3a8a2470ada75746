import { describe, expect, it } from "vitest";
import { PipelineTotals } from "../../src/media/pipeline-stats.ts";

const options = { audioEnabled: true, hwaccel: "none", frontEnd: "ffmpeg" } as const;

describe("PipelineTotals", () => {
  it("reports the ended runs' frames plus the current run's, and the lag only while running", () => {
    const totals = new PipelineTotals();
    totals.fold({ frames: 100, dropped: 3, lagMs: 900 });
    totals.restarts++;
    totals.resyncs++;
    const current = { frames: 20, dropped: 1, lagMs: 41.6 };
    const sound = { played: 300, silent: 12, dropped: 2 };
    expect(totals.report("running", current, { width: 640, height: 360 }, options, sound)).toEqual({
      state: "running",
      width: 640,
      height: 360,
      framesIn: 120,
      framesDropped: 4,
      restarts: 1,
      lagMs: 42,
      resyncs: 1,
      audio: true,
      audioChunks: { played: 300, silent: 12, dropped: 2 },
      hwaccel: "none",
      frontEnd: "ffmpeg",
    });
    const retrying = totals.report("retrying", undefined, undefined, { ...options, audioEnabled: false }, sound);
    expect(retrying).toMatchObject({ framesIn: 100, framesDropped: 3, lagMs: 0, width: undefined, audio: false });
  });
});
