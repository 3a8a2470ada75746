/**
 * The layering the code keeps (issue 11): followed through static imports only (an `import()` loads on demand).
 * - The bot's production entry (main.ts) and app.ts never load dev/ (the chroot Synapse manager and the demo).
 * - config/ does not depend on matrix/ (the allowlist matcher lives in admission/).
 * - admission/ is pure policy: it imports neither matrix/ nor call/ nor media/.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.resolve(import.meta.dirname, "../../src");
const STATIC_IMPORT = /^\s*(?:import|export)\s(?![^;]*\(\s*["'])[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/gm;

/** The files of src/ that `entry` loads through static relative imports, itself included. */
function staticClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(STATIC_IMPORT)) {
      const spec = m[1];
      if (spec !== undefined) walk(path.resolve(path.dirname(file), spec));
    }
  };
  walk(path.join(SRC, entry));
  return new Set([...seen].map((f) => path.relative(SRC, f)));
}

describe("layers", () => {
  it("main.ts and app.ts do not load dev/ (the demo is imported on demand)", () => {
    const loaded = [...staticClosure("main.ts")];
    expect(loaded).toContain("app.ts");
    expect(loaded.filter((f) => f.startsWith("dev/"))).toEqual([]);
    // The demo entry does load it: the walk follows imports.
    expect([...staticClosure("demo-main.ts")]).toContain("dev/demo.ts");
  });

  it("config/ does not import matrix/", () => {
    const loaded = [...staticClosure("config/load.ts")];
    expect(loaded).toContain("admission/access.ts");
    expect(loaded.filter((f) => f.startsWith("matrix/"))).toEqual([]);
  });

  it("admission/ imports neither matrix/, call/ nor media/", () => {
    const loaded = [...staticClosure("admission/admission.ts")];
    expect(loaded).toContain("admission/room-check.ts");
    expect(loaded.filter((f) => /^(matrix|call|media)\//.test(f))).toEqual([]);
  });
});
