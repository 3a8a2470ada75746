/**
 * The lean ffmpeg: FFmpeg built by scripts/lean-ffmpeg.sh with its own decoders only and no outside library, the
 * program that reads rtsp:// cameras where it is built. Why: most of a camera's memory was the ~200 shared libraries
 * Debian's libavcodec links (librsvg, x265, aom, gnutls, ...), mapped and relocated to decode one H.264 stream. Reading
 * a 1080p25 camera with the bot's command line took 66 MB RSS with Debian's ffmpeg 5.1.9 and 76 MB with the GStreamer
 * front end, 21–22 MB with this build of the same FFmpeg 5.1.9 (docs/benchmark.md, "A lean ffmpeg reads the cameras").
 * It has no TLS and no hardware decoding, so rtsps:// cameras and cameras with `hwaccel` keep the full ffmpeg; a
 * camera sending a codec it lacks falls back to the full ffmpeg after one run (restart-policy.ts).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import type { CameraConfig } from "../config/load.ts";
import { resolveFfmpeg } from "./ffmpeg-path.ts";

/** Where scripts/lean-ffmpeg.sh puts it (src/media or dist/media → the package root). */
export const LEAN_FFMPEG_BUILT = path.resolve(import.meta.dirname, "../../native/ffmpeg-lean/ffmpeg");

/** The programs that read a camera: the full ffmpeg, and the lean one where there is one. */
export interface Ffmpegs {
  full: string;
  lean?: string | undefined;
}

export type LeanFfmpeg = { path: string; version: string } | { path: undefined; why: string };

/**
 * The lean ffmpeg to use: `configured` ("none": none), else the built one where it exists. A configured one that does
 * not run is an error (the config asked for it); a built one that does not run is left out with the reason.
 */
export function resolveLeanFfmpeg(configured: string | undefined, built: string = LEAN_FFMPEG_BUILT): LeanFfmpeg | { error: string } {
  if (configured === "none") return { path: undefined, why: "media.leanFfmpegPath is none" };
  const file = configured ?? built;
  if (configured === undefined && !existsSync(file)) {
    return { path: undefined, why: "not built (scripts/lean-ffmpeg.sh builds it: ~45 MB less per camera)" };
  }
  const found = resolveFfmpeg(file);
  if ("error" in found) {
    return configured !== undefined
      ? { error: `the configured lean ffmpeg (media.leanFfmpegPath) does not run: ${file}` }
      : { path: undefined, why: `${file} does not run` };
  }
  return { path: found.path, version: found.version };
}

/** Whether the lean ffmpeg can read the camera: plain rtsp:// (it has no TLS) with software decoding. */
export function leanCanRead(camera: Pick<CameraConfig, "url" | "hwaccel">): boolean {
  return /^rtsp:\/\//i.test(camera.url) && camera.hwaccel === "none";
}

/** Whether the lean ffmpeg reads the camera where it is built: one it can read that does not ask for GStreamer. */
export function leanReads(camera: Pick<CameraConfig, "url" | "hwaccel" | "frontEnd">): boolean {
  return leanCanRead(camera) && camera.frontEnd !== "gstreamer";
}

/** True when ffmpeg says a part of it is missing: a decoder, protocol, filter or encoder this build lacks. */
export function isMissingComponentError(stderrLine: string): boolean {
  return /Decoder \(codec [^)]*\) not found|Protocol '[^']*' not found|Protocol not found|No such filter|Unknown encoder/.test(stderrLine);
}
