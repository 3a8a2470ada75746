import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { R720 } from "../../bench/plan.ts";
import { callCost, pooledRtc, rtcRows, rtcTargets } from "../../bench/report/matrixrtc.ts";
import { emptyRtc, Results, type WindowResult } from "../../bench/report/results.ts";
import { computeTargets, targetsMarkdown, verdict } from "../../bench/report/targets.ts";
import { botConfigYaml } from "../../bench/rig/config.ts";
import { loadConfigFile } from "../../src/config/load.ts";

function window(partial: Partial<WindowResult> & Pick<WindowResult, "kind" | "calls">): WindowResult {
  return {
    name: "w",
    resolution: "720p25",
    cameras: 1,
    windowS: 20,
    delivered: ["1280x720"],
    fps: { min: 25, mean: 25, perCall: [25] },
    latency: { samples: 100, misreads: 0, p50: 120, p95: 140, max: 160 },
    cpu: {},
    rssMB: {},
    processes: {},
    ...partial,
  };
}

/** The bot's RSS in a window (mean; the max is not read). */
function rss(mean: number): WindowResult["rssMB"] {
  return { bot: { mean, max: mean + 5 } };
}

function results(): Results {
  const r = new Results();
  r.rtc.push({ ...emptyRtc(), callToRing: [300, 200, 250], joinToFirstFrame: [600, 900, 650], firstSizes: ["1280x720"] });
  r.rtc.push({ ...emptyRtc(), callToRing: [180], joinToFirstFrame: [680] });
  r.windows.push(
    window({ kind: "rtc-cpu", path: "none", calls: 0, cpu: { bot: 5 }, rssMB: rss(300) }),
    window({ kind: "rtc-cpu", path: "legacy", calls: 1, cpu: { bot: 45 }, rssMB: rss(360) }),
    window({ kind: "rtc-cpu", path: "legacy", calls: 2, cpu: { bot: 65 }, rssMB: rss(378) }),
    window({ kind: "rtc-cpu", path: "matrixrtc", calls: 1, cpu: { bot: 55 }, rssMB: rss(400) }),
    window({ kind: "rtc-cpu", path: "matrixrtc", calls: 2, cpu: { bot: 80 }, rssMB: rss(441) }),
    window({ kind: "rtc-latency", calls: 1, latency: { samples: 1000, misreads: 2, p50: 95, p95: 150, max: 200 } }),
  );
  return r;
}

describe("bench matrixrtc figures", () => {
  it("pools every run's timings (merged result files) and takes the medians against the targets", () => {
    const r = results();
    expect(pooledRtc(r).joinToFirstFrame).toEqual([600, 900, 650, 680]);
    const t = rtcTargets(r);
    const by = (start: string): string[] => {
      const row = t.find((x) => x.figure.startsWith(start));
      return row ? [row.target, row.measured, verdict(row)] : [];
    };
    // Ring median of 300, 200, 250, 180 is 225: within the legacy ring's 250 ms.
    expect(by("MatrixRTC ring")).toEqual(["≤ 250 ms (the legacy ring's)", "225 ms (max 300 ms, n 4)", "met"]);
    // Join → first frame median 665 ms ≤ 700, though one join took 900 ms.
    expect(by("MatrixRTC picture")).toEqual(["≤ 700 ms", "665 ms (max 900 ms, n 4)", "met"]);
    expect(by("MatrixRTC latency: glass-to-glass p50")[2]).toBe("met");
    expect(by("MatrixRTC latency: glass-to-glass p95")).toEqual(["≤ 130 ms (the legacy call's)", "150 ms", "NOT MET"]);
    expect(by("a single MatrixRTC call")[2]).toBe("met");
  });

  it("CPU per call: one call against none, a second against one; reported beside legacy's, without a verdict", () => {
    const r = results();
    expect(callCost(r.windows, "legacy")).toEqual({ first: 40, extra: 20 });
    expect(callCost(r.windows, "matrixrtc")).toEqual({ first: 50, extra: 25 });
    const rows = rtcTargets(r).filter((x) => x.figure.startsWith("CPU"));
    expect(rows.map((x) => [x.target, x.measured, verdict(x)])).toEqual([
      ["— (legacy, same minutes: 40.0 % of a core)", "50.0 % of a core", "no target"],
      ["— (legacy, same minutes: 20.0 % of a core)", "25.0 % of a core", "no target"],
    ]);
  });

  it("memory of a second MatrixRTC call: 2 calls' mean RSS against 1, held to the 720p extra-call target beside legacy's", () => {
    const r = results();
    expect(callCost(r.windows, "legacy", "rss")).toEqual({ first: 60, extra: 18 });
    expect(callCost(r.windows, "matrixrtc", "rss")).toEqual({ first: 100, extra: 41 });
    const row = rtcTargets(r).find((x) => x.figure.startsWith("memory of a second 720p25 call"));
    expect(row && [row.target, row.measured, verdict(row)]).toEqual(["≤ 40 MB (legacy, same minutes: 18.0 MB)", "41.0 MB", "NOT MET"]);
  });

  it("a run without the phase (or where it was skipped) adds no row; a join that never framed is NOT MET, not missing", () => {
    const none = new Results();
    expect(rtcTargets(none)).toEqual([]);
    expect(rtcRows(none)).toEqual([]);
    expect(targetsMarkdown(computeTargets(none))).not.toContain("MatrixRTC");

    const slow = new Results();
    slow.rtc.push({ ...emptyRtc(), callToRing: [400], joinToFirstFrame: [701] });
    const t = rtcTargets(slow);
    const verdictOf = (start: string): string | undefined => {
      const row = t.find((x) => x.figure.startsWith(start));
      return row ? verdict(row) : undefined;
    };
    expect(verdictOf("MatrixRTC picture")).toBe("NOT MET");
    expect(verdictOf("MatrixRTC ring")).toBe("NOT MET");
    // No windows: the latency and CPU rows are "not measured" and left out of the markdown table.
    expect(t.find((x) => x.figure.startsWith("CPU of one"))?.met).toBeUndefined();
    expect(targetsMarkdown(t)).not.toContain("CPU of one");
    expect(t.find((x) => x.figure.startsWith("memory of a second"))?.met).toBeUndefined();
    expect(rtcRows(slow).map((row) => row[0])).toContain("join → first decoded frame");
  });
});

describe("bench bot config", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("is a valid config that names the matrixrtc phase's focus and rings legacy by default", () => {
    dir = mkdtempSync(path.join(tmpdir(), "mcc-bench-config-"));
    const file = path.join(dir, "config.yaml");
    writeFileSync(
      file,
      botConfigYaml({
        baseUrl: "http://127.0.0.1:8008",
        viewer: "@viewer:localhost",
        cameras: new Map([["c720-0", { port: 8554, res: R720 }]]),
        firstCamera: "c720-0",
        onvifPort: 8555,
        talkbackFile: path.join(dir, "talkback.raw"),
        python: "/usr/bin/python3",
        maxCalls: 8,
        dataDir: path.join(dir, "data"),
        focusUrl: "http://127.0.0.1:18080",
      }),
    );
    const config = loadConfigFile(file, { BOT_TOKEN: "token" });
    expect(config.matrixRtc.livekitServiceUrl).toBe("http://127.0.0.1:18080");
    expect(config.matrixRtc.ringVia).toBe("legacy");
    expect(config.cameras.map((c) => c.name)).toContain("c720-0");
  });
});
