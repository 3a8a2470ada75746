/**
 * `npm ci` installs package-lock.json as it is and rejects a lock that does not cover the dependency tree (on
 * 2026-11-30 the registry began serving rollup's optional platform packages, which an earlier `npm install` had left
 * out of the lock, and `npm ci` failed on every fresh clone). These checks read the lock alone, with no registry:
 * every dependency of every locked package, optional ones for other platforms included, resolves to a locked package
 * with a version and an integrity hash, and the root entry agrees with package.json.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface LockedPackage {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
}

interface Lock {
  lockfileVersion: number;
  packages: Record<string, LockedPackage>;
}

const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as Lock;
const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;

/** Where Node would find `name` from the package at `from` ("" is the root): its own node_modules, then its parents'. */
function resolve(from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (candidate in lock.packages) return candidate;
    if (dir === "") return undefined;
    const up = dir.lastIndexOf("/node_modules/");
    dir = up < 0 ? "" : dir.slice(0, up);
  }
}

describe("package-lock.json", () => {
  it("is a v3 lock whose root matches package.json", () => {
    expect(lock.lockfileVersion).toBe(3);
    const root = lock.packages[""];
    expect(root).toBeDefined();
    for (const field of ["dependencies", "optionalDependencies", "devDependencies"] as const) {
      expect(root?.[field] ?? {}, field).toEqual(manifest[field] ?? {});
    }
  });

  it("locks every dependency of every package, other platforms' optional binaries included", () => {
    const missing: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const wanted = { ...pkg.dependencies, ...pkg.optionalDependencies, ...(path === "" ? pkg.devDependencies : {}) };
      for (const name of Object.keys(wanted)) {
        if (resolve(path, name) === undefined) missing.push(`${name} (wanted by ${path || "the root"})`);
      }
      // A non-optional peer must be installed too (npm 7+ installs peers).
      for (const name of Object.keys(pkg.peerDependencies ?? {})) {
        if (pkg.peerDependenciesMeta?.[name]?.optional === true) continue;
        if (resolve(path, name) === undefined) missing.push(`${name} (peer of ${path})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("pins each package from the registry with a version and an integrity hash", () => {
    const unpinned = Object.entries(lock.packages)
      .filter(([path, pkg]) => path !== "" && pkg.link !== true)
      .filter(([, pkg]) => !pkg.version || !pkg.integrity)
      .map(([path]) => path);
    expect(unpinned).toEqual([]);
  });

  // Vite 8 bundles with rolldown and lightningcss, both native binaries per platform, as rollup's were under vite 7.
  it.each(["rolldown", "lightningcss", "esbuild"])(
    "records every optional platform package of %s (the kind a registry once left out)",
    (name) => {
      const path = `node_modules/${name}`;
      const platforms = Object.keys(lock.packages[path]?.optionalDependencies ?? {});
      expect(platforms.length).toBeGreaterThan(10);
      expect(platforms.filter((dep) => resolve(path, dep) === undefined)).toEqual([]);
    },
  );
});
