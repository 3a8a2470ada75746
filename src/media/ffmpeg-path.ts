import { accessSync, constants, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { childEnv } from "./child-env.ts";

export interface FfmpegBinary {
  path: string;
  /** Where it came from: the config, the ffmpeg-static package, or PATH. */
  source: "config" | "ffmpeg-static" | "PATH";
  /** First line of `ffmpeg -version`, e.g. "ffmpeg version 5.1.9-0+deb12u1". */
  version: string;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fromFfmpegStatic(): string | undefined {
  try {
    const required: unknown = createRequire(import.meta.url)("ffmpeg-static");
    return typeof required === "string" && existsSync(required) ? required : undefined;
  } catch {
    // ffmpeg-static is optional: npm drops it when its binary download fails (as on offline machines).
    return undefined;
  }
}

/** The first executable `name` in PATH's directories. */
export function fromPath(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function versionOf(file: string): string | undefined {
  const out = spawnSync(file, ["-hide_banner", "-version"], { encoding: "utf8", timeout: 10_000, env: childEnv() });
  if (out.status !== 0) return undefined;
  return out.stdout.split("\n")[0]?.trim();
}

/**
 * Finds the ffmpeg to use: the configured path, else ffmpeg-static's binary when it was really
 * installed, else `ffmpeg` on PATH. Returns the reason when none works.
 */
export function resolveFfmpeg(configured?: string): FfmpegBinary | { error: string } {
  const tried: string[] = [];
  const candidates: { path: string | undefined; source: FfmpegBinary["source"] }[] =
    configured !== undefined
      ? [{ path: configured, source: "config" }]
      : [
          { path: fromFfmpegStatic(), source: "ffmpeg-static" },
          { path: fromPath("ffmpeg"), source: "PATH" },
        ];
  for (const c of candidates) {
    if (c.path === undefined) continue;
    const version = versionOf(c.path);
    if (version !== undefined) return { path: c.path, source: c.source, version };
    tried.push(`${c.path} (${c.source}) did not run`);
  }
  const detail = tried.length > 0 ? `: ${tried.join("; ")}` : "";
  return {
    error:
      configured !== undefined
        ? `the configured ffmpeg (media.ffmpegPath) does not work${detail}`
        : `no ffmpeg found: ffmpeg-static is not installed and there is no ffmpeg on PATH (install it, e.g. apt-get install ffmpeg)${detail}`,
  };
}

/** ffprobe next to the chosen ffmpeg, else on PATH. */
export function resolveFfprobe(ffmpeg: FfmpegBinary): string | undefined {
  const sibling = path.join(path.dirname(ffmpeg.path), "ffprobe");
  if (executable(sibling)) return sibling;
  return fromPath("ffprobe");
}
