import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { launcherDefaults, missingFrom, withoutLauncherEnv } from "../../bench/launcher-env.ts";

describe("the bench takes the launcher's environment", () => {
  it("reads the defaults bin/matrix-camera-call exports, MALLOC_ARENA_MAX among them", () => {
    const defaults = launcherDefaults(readFileSync("bin/matrix-camera-call", "utf8"));
    expect(defaults["MALLOC_ARENA_MAX"]).toBe("2");
  });

  it("the Docker image sets the same malloc settings as the launcher (users get them either way)", () => {
    const fromBin = Object.entries(launcherDefaults(readFileSync("bin/matrix-camera-call", "utf8"))).filter(([k]) =>
      k.startsWith("MALLOC_"),
    );
    const docker = readFileSync("Dockerfile", "utf8");
    const fromDocker = new Map<string, string>();
    for (const m of docker.matchAll(/\b(MALLOC_[A-Z_]+)=(\S+)/g)) fromDocker.set(m[1] ?? "", m[2] ?? "");
    expect(fromBin.length).toBeGreaterThanOrEqual(2);
    for (const [k, v] of fromBin) expect(fromDocker.get(k), k).toBe(v);
  });

  it('takes only `export NAME="${NAME:-value}"` lines, and only for variables the environment lacks', () => {
    const script = [
      "#!/bin/sh",
      'export A="${A:-1}"',
      'export B="${C:-2}"', // another variable's default: not a default of B
      "export D=4", // not a default: the launcher always sets it
      '  export E="${E:-}"',
    ].join("\n");
    const defaults = launcherDefaults(script);
    expect(defaults).toEqual({ A: "1", E: "" });
    expect(missingFrom({ A: "7" }, defaults)).toEqual({ E: "" });
    expect(missingFrom({}, defaults)).toEqual({ A: "1", E: "" });
  });

  it("gives the receiver the environment without what the rerun added", () => {
    const env = { PATH: "/bin", MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "262144", MCC_BENCH_LAUNCHER_ENV: "MALLOC_MMAP_THRESHOLD_" };
    expect(withoutLauncherEnv(env)).toEqual({ PATH: "/bin", MALLOC_ARENA_MAX: "2" });
    expect(withoutLauncherEnv({ PATH: "/bin", MALLOC_ARENA_MAX: "2" })).toEqual({ PATH: "/bin", MALLOC_ARENA_MAX: "2" });
  });
});
