/** doctor's lean ffmpeg check: which cameras it concerns, and a lean build behind the system's ffmpeg of its series. */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/load.ts";
import { checkLeanFfmpeg, versionNumbers } from "../../src/doctor/lean-ffmpeg.ts";
import { resolveFfmpeg } from "../../src/media/ffmpeg-path.ts";
import { ffmpegPath } from "../harness/cameras.ts";

const camera = (url: string, frontEnd?: "gstreamer"): Config["cameras"][number] =>
  ({ name: "c", url, frontEnd, hwaccel: "none" }) as Config["cameras"][number];
const config = (leanFfmpegPath: string | undefined, cameras = [camera("rtsp://cam/a")]): Config =>
  ({ cameras, media: { leanFfmpegPath } }) as Config;

describe("doctor's lean ffmpeg check", () => {
  const real = resolveFfmpeg(ffmpegPath());
  if ("error" in real) throw new Error(real.error);

  it("reads ffmpeg's version lines", () => {
    expect(versionNumbers("ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026")).toEqual([5, 1, 9]);
    expect(versionNumbers("ffmpeg version n7.1 Copyright")).toEqual([7, 1, 0]);
    expect(versionNumbers("ffmpeg version N-47683-g0e8eb07980-static")).toBeUndefined();
  });

  it("says nothing when no camera would use it", () => {
    expect(
      checkLeanFfmpeg(config(undefined, [camera("rtsps://cam/a"), camera("demo://"), camera("rtsp://cam/b", "gstreamer")]), real),
    ).toBeUndefined();
  });

  it("passes where it runs and is not behind; warns where the system's ffmpeg of its series is newer", () => {
    const mine = checkLeanFfmpeg(config(real.path), real);
    expect(mine?.status).toBe("pass");
    expect(mine?.detail).toContain("reads 1 rtsp:// camera");
    const newer = {
      ...real,
      version: real.version.replace(/version (\d+\.\d+)\.(\d+)/, (_, s: string, p: string) => `version ${s}.${String(Number(p) + 1)}`),
    };
    const behind = checkLeanFfmpeg(config(real.path), newer);
    expect(behind?.status).toBe("warn");
    expect(behind?.fix).toContain("scripts/lean-ffmpeg.sh");
    const otherSeries = { ...real, version: "ffmpeg version 7.1.2" };
    expect(checkLeanFfmpeg(config(real.path), otherSeries)).toMatchObject({ status: "pass" });
  });

  it("passes, with a hint, when it is off or not built; fails when the configured one does not run", () => {
    const off = checkLeanFfmpeg(config("none"), real);
    expect(off?.status).toBe("pass");
    expect(off?.detail).toContain("media.leanFfmpegPath is none");
    expect(checkLeanFfmpeg(config("/nonexistent/ffmpeg"), real)).toMatchObject({ status: "fail" });
  });
});
