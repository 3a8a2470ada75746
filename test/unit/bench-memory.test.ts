import { describe, expect, it } from "vitest";
import { classifySmaps } from "../../bench/measure/memory.ts";
import { memoryTargets } from "../../bench/report/memory-targets.ts";
import type { WindowResult } from "../../bench/report/results.ts";

/** One smaps entry: the header line and its Rss (the other fields are not read). */
function entry(start: bigint, end: bigint, perms: string, path: string, rssKB: number): string {
  const hex = (n: bigint): string => n.toString(16).padStart(12, "0");
  return [
    `${hex(start)}-${hex(end)} ${perms} 00000000 00:00 0 ${path}`,
    `Size: ${(end - start) / 1024n} kB`,
    `Rss: ${rssKB} kB`,
    "VmFlags: rd wr mr mw me ac",
  ].join("\n");
}

const MiB = 1024n * 1024n;
const KiB = 1024n;

describe("bench memory breakdown (smaps)", () => {
  it("puts each mapping's Rss in one class: code, brk heap, arenas, thread stacks, other anonymous", () => {
    const arena = 0x7f0000000000n; // a 64 MiB boundary
    const text = [
      entry(0x400000n, 0x800000n, "r-xp", "/usr/local/bin/node", 3000),
      entry(0x1000000n, 0x3000000n, "rw-p", "[heap]", 20_000),
      // an arena heap: 8 MiB in use, the rest of its 64 MiB reservation PROT_NONE
      entry(arena, arena + 8n * MiB, "rw-p", "", 7000),
      entry(arena + 8n * MiB, arena + 64n * MiB, "---p", "", 0),
      // an arena heap grown to its whole 64 MiB
      entry(arena + 64n * MiB, arena + 128n * MiB, "rw-p", "", 60_000),
      // a thread stack: a guard page, then the stack
      entry(arena + 200n * MiB, arena + 200n * MiB + 4n * KiB, "---p", "", 0),
      entry(arena + 200n * MiB + 4n * KiB, arena + 208n * MiB, "rw-p", "", 120),
      // an mmap'ed malloc chunk (a frame buffer), not at a 64 MiB boundary
      entry(arena + 300n * MiB + 4n * KiB, arena + 302n * MiB, "rw-p", "", 1500),
      entry(0x7ffd00000000n, 0x7ffd00021000n, "rw-p", "[stack]", 100),
    ].join("\n");
    const b = classifySmaps(text);
    const mb = (kb: number): number => (kb * 1024) / 1e6;
    expect(b.code).toBeCloseTo(mb(3000));
    expect(b.brk).toBeCloseTo(mb(20_000));
    expect(b.arenas).toBeCloseTo(mb(67_000));
    expect(b.arenaHeaps).toBe(2);
    expect(b.stacks).toBeCloseTo(mb(220));
    expect(b.anon).toBeCloseTo(mb(1500));
    expect(b.rssMB).toBeCloseTo(mb(3000 + 20_000 + 67_000 + 220 + 1500));
  });

  it("counts every Rss once, and no arena without a 64 MiB reservation", () => {
    const text = [entry(0x10000n, 0x20000n, "r--p", "/lib/x.so", 64), entry(0x20000n, 0x30000n, "rw-p", "", 32)].join("\n");
    const b = classifySmaps(text);
    expect(b.rssMB).toBeCloseTo(b.code + b.brk + b.arenas + b.stacks + b.anon);
    expect(b.arenaHeaps).toBe(0);
  });
});

function win(
  kind: WindowResult["kind"],
  calls: number,
  rss: number,
  name = "720p25 bot",
  at: { fps: number; size: string } = { fps: 25, size: "1280x720" },
): WindowResult {
  return {
    name,
    kind,
    resolution: "720p25",
    calls,
    cameras: 1,
    windowS: 20,
    delivered: [at.size],
    fps: { min: at.fps, mean: at.fps, perCall: [] },
    latency: { samples: 0, misreads: 0, p50: undefined, p95: undefined, max: undefined },
    cpu: {},
    rssMB: { bot: { mean: rss, max: rss } },
    processes: {},
  };
}

describe("memory per call targets", () => {
  it("gives the slope from one call to the most calls, and the figure against the idle bot", () => {
    const w = [win("idle", 0, 300, "720p25 bot idle"), win("bot", 1, 400), win("bot", 2, 430), win("bot", 8, 610)];
    const [extra, vsIdle] = memoryTargets(w, "720p25", 40);
    expect(extra?.measured).toBe("30.0 MB"); // (610 − 400) / 7
    expect(extra?.met).toBe(true);
    expect(vsIdle?.measured).toBe("38.8 MB"); // (610 − 300) / 8
    expect(vsIdle?.met).toBe(true);
  });

  it("ends at the most calls still at full rate and size: starved or scaled calls are load, not a call's cost", () => {
    const w = [
      win("idle", 0, 300, "720p25 bot idle"),
      win("bot", 1, 400),
      win("bot", 2, 430),
      win("bot", 4, 490),
      win("bot", 8, 900, "720p25 bot", { fps: 9, size: "1280x720" }),
    ];
    expect(memoryTargets(w, "720p25", 40)[0]?.measured).toBe("30.0 MB"); // (490 − 400) / 3, not (900 − 400) / 7
    w[4] = win("bot", 8, 420, "720p25 bot", { fps: 25, size: "640x360" });
    expect(memoryTargets(w, "720p25", 40)[0]?.figure).toContain("1→4 calls");
  });

  it("is not measured when no window beyond one call kept full rate (a busy machine), rather than read from starved calls", () => {
    const slow = { fps: 9, size: "1920x1080" };
    const w = [
      win("idle", 0, 300, "720p25 bot idle"),
      win("bot", 1, 400),
      win("bot", 2, 420, "720p25 bot", slow),
      win("bot", 8, 500, "720p25 bot", slow),
    ];
    expect(memoryTargets(w, "720p25", 40).map((t) => [t.measured, t.met])).toEqual([
      ["–", undefined],
      ["–", undefined],
    ]);
  });

  it("is not measured without the windows, and not met over the limit", () => {
    expect(memoryTargets([], "720p25", 40).map((t) => t.met)).toEqual([undefined, undefined]);
    const w = [win("idle", 0, 300, "720p25 bot idle"), win("bot", 1, 400), win("bot", 4, 550)];
    expect(memoryTargets(w, "720p25", 40).map((t) => t.met)).toEqual([false, false]);
  });
});
