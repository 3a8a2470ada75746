/**
 * doctor's check of the lean ffmpeg (media/lean-ffmpeg.ts), which reads the rtsp:// cameras where it is built: found
 * and running, and not behind the system's ffmpeg of the same series. Debian's security updates of ffmpeg 5.1 are the
 * upstream point releases (5.1.7 fixed eleven CVEs), and the lean build is pinned to one (scripts/lean-ffmpeg.sh): a
 * newer system ffmpeg means the pin wants bumping. Not built is no fault: those cameras use GStreamer or the full
 * ffmpeg, with ~45 MB more each.
 */
import type { Config } from "../config/load.ts";
import type { FfmpegBinary } from "../media/ffmpeg-path.ts";
import { leanReads, resolveLeanFfmpeg, type LeanFfmpeg } from "../media/lean-ffmpeg.ts";
import type { CheckResult } from "./result.ts";

/** "ffmpeg version 5.1.9-0+deb12u1 ..." → [5, 1, 9]. */
export function versionNumbers(versionLine: string): number[] | undefined {
  const m = /version n?(\d+)\.(\d+)(?:\.(\d+))?/.exec(versionLine);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** undefined when no camera would use it (none is plain rtsp:// with software decoding, or all ask for GStreamer). */
export function checkLeanFfmpeg(
  config: Config,
  full: FfmpegBinary | undefined,
  lean: LeanFfmpeg | { error: string } = resolveLeanFfmpeg(config.media.leanFfmpegPath),
): CheckResult | undefined {
  const cameras = config.cameras.filter(leanReads);
  if (cameras.length === 0) return undefined;
  const name = "lean ffmpeg";
  const which = `${String(cameras.length)} rtsp:// camera(s)`;
  if ("error" in lean)
    return { name, status: "fail", detail: lean.error, fix: "run scripts/lean-ffmpeg.sh, or remove media.leanFfmpegPath" };
  if (lean.path === undefined) {
    return { name, status: "pass", detail: `${lean.why}; ${which} read by GStreamer or the full ffmpeg` };
  }
  const mine = versionNumbers(lean.version);
  const system = full ? versionNumbers(full.version) : undefined;
  const detail = `${lean.version} (${lean.path}) reads ${which}`;
  if (mine && system && mine[0] === system[0] && mine[1] === system[1] && (mine[2] ?? 0) < (system[2] ?? 0)) {
    return {
      name,
      status: "warn",
      detail: `${detail}; the system's ffmpeg is newer (${system.join(".")}), its point releases carry security fixes`,
      fix: "set the version and SHA-256 in scripts/lean-ffmpeg.sh to the system's and run it",
    };
  }
  return { name, status: "pass", detail };
}
