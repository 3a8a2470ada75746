/**
 * How fast this machine encodes VP8, measured on the calls themselves (legacy and MatrixRTC), and the share of the
 * encode budget's default (encode-budget.ts) that follows from it.
 *
 * Why: the default (50 Mpx/s a core when frames were counted by their pixels alone) was chosen on a machine that
 * encoded a 1280×720 frame in 4.7–5.3 ms; a machine of the same kind (2 cores, a 2.0 GHz EPYC) took 12.2 ms, and
 * there four 720p25 calls, which that default lets run at full size, got 9.5 fps each (docs/benchmark.md,
 * 2026-12-02). Users run the bot on anything from a NAS to a server.
 *
 * The rule: each call's sender figures (getStats: encode time, frames encoded, frame size) are read in windows of at
 * least MIN_FRAMES frames at MIN_FPS or more, at one size of at least MIN_MEGAPIXELS; the estimate is the median
 * milliseconds per megapixel of the last WINDOWS_KEPT windows, each frame counted as the budget counts it (frameCost:
 * its pixels and FRAME_OVERHEAD_PIXELS). So counted, 720p and 1080p windows are 10 % apart on the slow machine (7.7
 * and 6.9 ms from 8.6 and 15.8 ms a frame; by pixels alone 22 %, 9.3 and 7.6), and a 1080p camera's calls hardly make
 * the machine look faster than its 720p ones. A frame's encode time is not the machine's alone: in the bench's
 * overload phase on the slow machine the figure went 14.8 → 12.1 → 10.8 → 8.8 ms a 720p frame within two minutes, as
 * the load moved (libvpx picks its own speed level when libwebrtc sets a negative cpu-used, as it does; not separated
 * further), so no single window carries the estimate, and the lowest one would have drifted towards the default.
 * Windows come only from pictures of full size: a call whose picture the budget scaled adds none, so scaling cannot
 * feed back into the estimate. The share is the reference speed over the estimate, at most 1 (a faster machine keeps
 * the default: a larger budget was not measured) and at least MIN_SHARE; the watch applies it when it moved by a
 * tenth.
 *
 * Where it errs, it errs fast, towards the old fixed default: a still picture encodes faster than the reference's
 * moving one; and on 3 or more cores libwebrtc encodes 720p with 2 threads (NumberOfThreads in its libvpx_vp8_encoder),
 * so the time it reports per frame is below the CPU time a frame takes.
 */
import { frameCost } from "./encode-budget.ts";

/** A 1280×720 frame as the budget counts it (frameCost), in megapixels. */
export const MEGAPIXELS_720P = frameCost(1280, 720) / 1e6;
/** Milliseconds per (counted) megapixel of the machine where the default budget was chosen: 5.0 ms a 1280×720 frame. */
export const REFERENCE_MS_PER_MEGAPIXEL = 5.0 / MEGAPIXELS_720P;
/** Frames a window needs (4 s of a 25 fps camera). */
export const MIN_FRAMES = 100;
/** Smaller pictures are not measured: 1280×720 (0.92) and larger are, like the reference. */
export const MIN_MEGAPIXELS = 0.9;
/** Slower windows are not measured: the offline picture (2 fps) or a stalling camera is not a camera's load. */
export const MIN_FPS = 10;
/** The budget is never lowered below this share of the configured default. */
export const MIN_SHARE = 0.25;
/** Windows the median is taken over (a minute of one call's windows at 25 fps). */
export const WINDOWS_KEPT = 15;

/** A call's cumulative sender figures (encode time in seconds, as getStats gives it) and when they were read (ms). */
export interface EncodeReading {
  framesEncoded: number;
  totalEncodeTime: number;
  /** libwebrtc's own changes of the picture size (qualityLimitationResolutionChanges): a window must not span one. */
  resolutionChanges: number;
  width: number;
  height: number;
  at: number;
}

export class EncodeSpeed {
  /** Milliseconds per megapixel of the last WINDOWS_KEPT windows, oldest first. */
  private readonly figures: number[] = [];
  /** Each call's reading at the start of its current window. */
  private readonly windows = new Map<string, EncodeReading>();

  /** The median milliseconds per megapixel of the last windows; undefined before the first. */
  get msPerMegapixel(): number | undefined {
    if (this.figures.length === 0) return undefined;
    const sorted = [...this.figures].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  }

  /** One reading of a call; a window ends once it has MIN_FRAMES frames. */
  note(call: string, now: EncodeReading): void {
    const start = this.windows.get(call);
    const restarted = start !== undefined && (now.framesEncoded < start.framesEncoded || now.totalEncodeTime < start.totalEncodeTime);
    const resized =
      start !== undefined &&
      (now.width !== start.width || now.height !== start.height || now.resolutionChanges !== start.resolutionChanges);
    if (start === undefined || restarted || resized) {
      this.windows.set(call, now);
      return;
    }
    const frames = now.framesEncoded - start.framesEncoded;
    if (frames < MIN_FRAMES) return;
    this.windows.set(call, now);
    if ((now.width * now.height) / 1e6 < MIN_MEGAPIXELS || frames / ((now.at - start.at) / 1000) < MIN_FPS) return;
    const perMegapixel = ((now.totalEncodeTime - start.totalEncodeTime) * 1e9) / frames / frameCost(now.width, now.height);
    if (!(perMegapixel > 0)) return;
    this.figures.push(perMegapixel);
    if (this.figures.length > WINDOWS_KEPT) this.figures.shift();
  }

  /** Forgets the windows of calls that are gone. */
  keepOnly(calls: ReadonlySet<string>): void {
    for (const call of this.windows.keys()) if (!calls.has(call)) this.windows.delete(call);
  }

  /** The share of the default budget this machine gets: 1 until measured. */
  share(): number {
    const ms = this.msPerMegapixel;
    if (ms === undefined) return 1;
    return Math.min(1, Math.max(MIN_SHARE, REFERENCE_MS_PER_MEGAPIXEL / ms));
  }
}
