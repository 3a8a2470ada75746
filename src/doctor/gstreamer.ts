/**
 * doctor's check of the GStreamer front end, for RTSP cameras decoded in software without the lean ffmpeg (media/front-end.ts):
 * gst-launch-1.0 on PATH and every element its pipeline uses (media/gst-front-end.ts), listed by gst-inspect-1.0.
 * Missing is a warning, not a failure: those cameras then use ffmpeg, through the frame-end proxy for rtsp:// (as
 * soon as GStreamer, media/frame-end-proxy.ts); an rtsps:// camera's frames come one frame period later.
 */
import type { Config } from "../config/load.ts";
import { gstEligible, gstLaunchInstalled } from "../media/front-end.ts";
import { buildGstArgs, type GstCodec } from "../media/gst-front-end.ts";
import { leanReads } from "../media/lean-ffmpeg.ts";
import { run } from "./media.ts";
import type { CheckResult } from "./result.ts";

/** The element names in gst-launch argv: the entries that are not `!`, a property, caps, a pad reference or an option. */
export function elementsOf(args: readonly string[]): string[] {
  return args.filter((a) => /^[a-z][a-z0-9_]*$/.test(a));
}

/** Every element of the front end's pipelines (both codec chains, the audio branch), read from buildGstArgs. */
function pipelineElements(): string[] {
  const codecs: GstCodec[] = ["h264", "h265"];
  const args = codecs.flatMap((codec) =>
    buildGstArgs({ url: "rtsp://camera", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: true, codec }),
  );
  return [...new Set(elementsOf(args))];
}
const FIX = "apt-get install gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav";
/** gst-inspect-1.0 builds its plugin registry on its first run: seconds on a slow machine. */
const INSPECT_TIMEOUT_MS = 30_000;

/** The element names in gst-inspect-1.0's listing (lines like `rtsp:  rtspsrc: RTSP packet receiver`). */
export function gstElementsOf(listing: string): Set<string> {
  const names = new Set<string>();
  for (const m of listing.matchAll(/^[\w-]+:\s+([\w-]+): /gm)) if (m[1] !== undefined) names.add(m[1]);
  return names;
}

/**
 * undefined when no camera would use GStreamer (all ffmpeg by config, not RTSP, or hardware decoding; with the lean
 * ffmpeg built, only cameras that ask for GStreamer or that it cannot read).
 */
export async function checkGstreamer(config: Config, leanBuilt = false): Promise<CheckResult | undefined> {
  const cameras = config.cameras.filter((c) => gstEligible(c) && !(leanBuilt && leanReads(c)));
  if (cameras.length === 0) return undefined;
  const name = "gstreamer";
  const which = `${String(cameras.length)} RTSP camera(s)`;
  if (!gstLaunchInstalled()) {
    return { name, status: "warn", detail: `gst-launch-1.0 not found: ${which} use ffmpeg (rtsps:// ones a frame later)`, fix: FIX };
  }
  const listing = await run("gst-inspect-1.0", [], INSPECT_TIMEOUT_MS);
  if (listing.code !== 0) {
    const said = listing.stderr.trim().split("\n").slice(-1)[0] ?? "";
    return { name, status: "warn", detail: `gst-inspect-1.0 failed (exit ${String(listing.code)}): ${said}`, fix: FIX };
  }
  const have = gstElementsOf(listing.stdout);
  const missing = pipelineElements().filter((e) => !have.has(e));
  if (missing.length > 0) {
    const detail = `GStreamer lacks ${missing.join(", ")}: ${which} use ffmpeg (rtsps:// ones a frame later)`;
    return { name, status: "warn", detail, fix: FIX };
  }
  return { name, status: "pass", detail: `gst-launch-1.0 with every element the front end uses: it reads ${which}` };
}
