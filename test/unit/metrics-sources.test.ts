/** Metrics reads every figure from the sources it is given (two apps in one process each report their own). */
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/metrics/metrics.ts";

describe("Metrics sources", () => {
  it("reports the counts its sources give, not a module's globals", async () => {
    const own = (n: number): Metrics =>
      new Metrics({
        activeCalls: () => n,
        peerConnections: () => n + 1,
        ffmpegProcesses: () => n + 2,
        unhandledRejections: () => n + 3,
        cameras: () => ({}),
        encodeBudget: () => n + 4,
      });
    const [a, b] = await Promise.all([own(0).text(), own(10).text()]);
    for (const [text, n] of [
      [a, 0],
      [b, 10],
    ] as const) {
      expect(text).toContain(`\nmcc_active_calls ${n}\n`);
      expect(text).toContain(`\nmcc_peer_connections ${n + 1}\n`);
      expect(text).toContain(`\nmcc_ffmpeg_processes ${n + 2}\n`);
      expect(text).toContain(`\nmcc_unhandled_rejections_total ${n + 3}\n`);
      expect(text).toContain(`\nmcc_encode_budget_megapixels_per_second ${n + 4}\n`);
    }
  });
});
