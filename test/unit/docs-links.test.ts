/**
 * The README was cut to what a user needs, and the rest moved to docs/: every relative link between them must
 * still lead somewhere, so a reader never lands on a missing page or section.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const FILES = [
  "README.md",
  ...readdirSync(join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const text = m[1] ?? "";
    out.add(
      text
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s-]/gu, "")
        .replace(/\s/g, "-"),
    );
  }
  return out;
}

describe("documentation links", () => {
  for (const file of FILES) {
    it(`${file}: every relative link resolves`, () => {
      const text = readFileSync(join(ROOT, file), "utf8");
      const broken: string[] = [];
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = m[1] ?? "";
        if (/^[a-z]+:/i.test(href)) continue;
        const [path = "", anchor] = href.split("#");
        const target = path === "" ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
        if (!existsSync(target)) {
          broken.push(`${href} (no such file)`);
          continue;
        }
        if (anchor !== undefined && target.endsWith(".md") && !anchors(readFileSync(target, "utf8")).has(anchor)) {
          broken.push(`${href} (no such section)`);
        }
      }
      expect(broken).toEqual([]);
    });
  }

  it("the README stays a user's page (about 150 lines)", () => {
    expect(readFileSync(join(ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(180);
  });
});
