/**
 * native/zero-pages.c, the launcher's preload: built by scripts/zero-pages.sh (in a copy of the two files, so the test
 * never races the launcher's own build), then a C program (test/native/zero-pages-check.c) runs memsets with and
 * without it. With it, a large memset to zero of private anonymous memory gives the pages back; everywhere memset
 * must write (a file's private mapping, a range over two mappings, shared memory, locked pages, other values, small
 * sizes, the ends of a range that are not whole pages) the bytes are what glibc's memset leaves, and so is the
 * caller's errno. A second program (malloc-trim-check.c) frees heap memory glibc keeps: the shim's trimmer gives it
 * back. Every child has a timeout: a shim that calls itself would hang, not fail.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "mcc-zero-pages-"));
let so = "";
let check = "";
let trimCheck = "";

const TIMEOUT_MS = 20_000;
const FIGURES = ["dropped", "heap-dropped", "maps-offset"] as const;
type Figures = Record<(typeof FIGURES)[number], number>;
const CASES = ["mapped", "rewritten", "heap", "two-mappings", "file-private", "shared", "locked", "errno", "nonzero", "small"];

/**
 * The check's case lines, the lines expected of it (without the locked case where mlock was refused: "locked
 * skipped") and its figures (MB given back; bytes).
 */
function run(env: NodeJS.ProcessEnv): { lines: string[]; expected: string[]; figures: Figures } {
  const out = execFileSync(check, { env, encoding: "utf8", timeout: TIMEOUT_MS });
  const all = out.trim().split("\n");
  const skipped = all.some((l) => l.startsWith("locked skipped"));
  return {
    lines: all.filter((l) => !FIGURES.some((f) => l.startsWith(`${f} `)) && !l.startsWith("locked skipped")),
    expected: CASES.filter((c) => !(skipped && c === "locked")).map((c) => `${c} ok`),
    figures: Object.fromEntries(FIGURES.map((f) => [f, Number(new RegExp(`^${f} (-?\\d+)$`, "m").exec(out)?.[1])])) as Figures,
  };
}

beforeAll(() => {
  for (const sub of ["scripts", "native"]) mkdirSync(join(dir, sub));
  copyFileSync("scripts/zero-pages.sh", join(dir, "scripts/zero-pages.sh"));
  copyFileSync("native/zero-pages.c", join(dir, "native/zero-pages.c"));
  so = execFileSync("sh", [join(dir, "scripts/zero-pages.sh")], { encoding: "utf8", timeout: TIMEOUT_MS }).trim();
  check = join(dir, "check");
  trimCheck = join(dir, "trim-check");
  for (const [out, src] of [
    [check, "test/native/zero-pages-check.c"],
    [trimCheck, "test/native/malloc-trim-check.c"],
  ] as const)
    execFileSync("cc", ["-O2", "-fno-builtin", "-Wall", "-Wextra", "-Werror", "-o", out, src], { timeout: TIMEOUT_MS });
});

/** The trim check's RSS just after its frees and its last reading 3 s later (MB), under the launcher's thresholds. */
function trimmed(env: NodeJS.ProcessEnv): { freed: number; last: number } {
  const out = execFileSync(trimCheck, {
    env: {
      PATH: process.env["PATH"] ?? "",
      MALLOC_ARENA_MAX: "2",
      MALLOC_MMAP_THRESHOLD_: "4194304",
      MALLOC_TRIM_THRESHOLD_: "8388608",
      ...env,
    },
    encoding: "utf8",
    timeout: TIMEOUT_MS,
  });
  const rss = [...out.matchAll(/^rss (\d+)$/gm)].map((m) => Number(m[1]));
  return { freed: Number(/^freed (\d+)$/m.exec(out)?.[1]), last: rss.at(-1) ?? NaN };
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("zero-pages (the launcher's preload)", () => {
  it("builds where there is a C compiler", () => {
    expect(so).toBe(join(dir, "native/zero-pages.so"));
  });

  it("glibc's memset alone: every case right, nothing given back", () => {
    const { lines, expected, figures } = run({ PATH: process.env["PATH"] ?? "" });
    expect(lines).toEqual(expected);
    expect(figures.dropped).toBeLessThan(8);
    expect(figures["heap-dropped"]).toBeLessThan(4);
  });

  it("preloaded: the same bytes, and a memset to zero of written memory gives its pages back, on the heap too", () => {
    const { lines, expected, figures } = run({ PATH: process.env["PATH"] ?? "", LD_PRELOAD: so });
    expect(lines).toEqual(expected);
    // The 64 MiB block's line lies past the shim's first 4 KiB read of the maps (lines cut between reads).
    expect(figures["maps-offset"]).toBeGreaterThan(8192);
    expect(figures.dropped).toBeGreaterThanOrEqual(56);
    expect(figures["heap-dropped"]).toBeGreaterThanOrEqual(12);
  });

  it("node runs with it: a Buffer zeroed over 8 MiB reads as zeros", () => {
    const script =
      "const b = Buffer.alloc(8 << 20, 0xab); b.fill(0, 3, b.length - 5); process.stdout.write(String(b.indexOf(0xab, 3)) + ' ' + b[2] + ' ' + b[b.length - 6] + ' ' + b[b.length - 5]);";
    const r = spawnSync(process.execPath, ["-e", script], {
      env: { PATH: process.env["PATH"] ?? "", LD_PRELOAD: so },
      encoding: "utf8",
      timeout: TIMEOUT_MS,
    });
    expect(r.stderr).toBe("");
    // The first 0xab after the zeroed range is at its end; the bytes either side of it are as they were.
    expect(r.stdout).toBe(`${String((8 << 20) - 5)} 171 0 171`);
  });

  it("gives freed heap memory back every MCC_MALLOC_TRIM_S seconds; glibc alone, or the trimmer off, keeps it", () => {
    // 192 MiB freed in 1 MiB blocks below the mmap threshold, the heap's top pinned: glibc keeps all of it.
    const alone = trimmed({});
    expect(alone.freed).toBeGreaterThan(150);
    expect(alone.last).toBeGreaterThan(150);
    expect(trimmed({ LD_PRELOAD: so, MCC_MALLOC_TRIM_S: "0" }).last).toBeGreaterThan(150);
    // With the trimmer every second, the check's 3 s see it fall to what is still in use (1 MiB and the program).
    const withTrim = trimmed({ LD_PRELOAD: so, MCC_MALLOC_TRIM_S: "1" });
    expect(withTrim.freed).toBeGreaterThan(150);
    expect(withTrim.last).toBeLessThan(40);
  });

  it("without a compiler the script prints nothing and says why: the bot then runs without it", () => {
    const bare = join(dir, "bare");
    for (const sub of ["scripts", "native"]) mkdirSync(join(bare, sub), { recursive: true });
    copyFileSync("scripts/zero-pages.sh", join(bare, "scripts/zero-pages.sh"));
    copyFileSync("native/zero-pages.c", join(bare, "native/zero-pages.c"));
    const r = spawnSync("sh", [join(bare, "scripts/zero-pages.sh")], {
      env: { ...process.env, CC: "no-such-cc" },
      encoding: "utf8",
      timeout: TIMEOUT_MS,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("no C compiler");
  });
});
