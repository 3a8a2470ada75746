/**
 * How calls degrade when there are more of them than the cores can encode at full rate (issue 14 item 5): the pure
 * policy. Every call encodes its own VP8 stream in software, about a quarter of a core per 1280×720 at 25 fps on the
 * 2-core build machine (bench `floors`: 26.5 % of a core), and the cost follows the pixels per second and a part
 * per frame (FRAME_OVERHEAD_PIXELS). Past what the cores can do, libwebrtc (as wrtc builds it) neither scales the
 * picture down nor drops frames evenly: every encoder just gets less time, and 8 × 720p25 calls on 2 cores got 5.6
 * fps each (one camera), 2.0 fps over 4 cameras, seconds late. So the bot decides instead: a camera's picture is
 * scaled down for all its calls (once per camera, in the hub, so that every call of the camera shares the one scaled
 * frame), keeping the frame rate, until the sum over the cameras fits the budget. The camera whose calls cost most
 * is scaled first, one step at a time: half, then a quarter of the width and height (a quarter, a sixteenth of the
 * pixels; frame-scaler.ts says why only halving). A single call is never scaled: it gets the full size and rate
 * whatever the budget says.
 *
 * Asking each call's encoder instead (RTCRtpSender.setParameters with scaleResolutionDownBy) does not work in wrtc
 * 0.10: its getParameters() leaves the SSRCs out, so once negotiated every setParameters() fails ("modified SSRC",
 * then InvalidStateError).
 */

/** A camera as the policy sees it: its output size and rate, and how many calls encode it. */
export interface CameraLoad {
  name: string;
  width: number;
  height: number;
  fps: number;
  /** Calls holding the camera (each one encodes its own stream). */
  encodes: number;
}

/** Width and height are divided by at most this. */
export const MAX_DIVISOR = 4;

/**
 * What a frame costs to encode apart from its pixels, counted as pixels. A frame's encode time is not proportional to
 * its size: getStats' encode time per frame in one bench run (2026-12-02 03:19, the slow 2-core machine, same camera
 * picture) was 3.1 ms at 640×360, 8.6 at 1280×720 and 15.8 at 1920×1080: about 1.3 ms + 7.8 ms per megapixel, a frame
 * worth 0.17 Mpx more than its pixels (about 1 ms of a 5 ms 720p frame where the default was chosen: 0.23). Counted
 * by pixels alone, 8 calls scaled to 640×360 looked like half of 4 full-size calls and cost 1.44 × what the budget
 * thought (8 calls got 12.9 fps there).
 */
export const FRAME_OVERHEAD_PIXELS = 200_000;

/** What one frame of `width` × `height` counts for in the budget: its pixels and FRAME_OVERHEAD_PIXELS. */
export function frameCost(width: number, height: number): number {
  return width * height + FRAME_OVERHEAD_PIXELS;
}

/**
 * Megapixels per second per core the calls may encode before pictures are scaled down, each frame counted with
 * FRAME_OVERHEAD_PIXELS more. On the 2-core build machine one 720p25 VP8 encode took 26.5 % of a core, i.e. ~106
 * counted Mpx/s a core for encoding alone; the camera's decode, audio, the event loop and whatever else runs on the
 * machine need the rest, so 60 is a little over half of it. 60 per core lets 4 × 720p25 calls run at full size on
 * 2 cores (112 of 120; the bench measured them at 24.5 fps) and scales a fifth (140), as 50 did when frames were
 * counted by their pixels alone. Left unset in the config, it is lowered on a machine that encodes slower than that
 * one (encode-speed.ts).
 */
export const DEFAULT_MEGAPIXELS_PER_CORE = 60;

/**
 * What a camera with calls costs besides their encoders, as a share of one full-size call's encode (frameCost × fps):
 * its front end's decode, and the reading, cutting and scaling of its frames in the bot. Eight 640×360 calls cost the
 * bot and its front ends 49 % of a core more over four 720p25 cameras than over one (bench, 2026-12-04 20:55: 135
 * against 86 %), 16 % for each further camera, where one 720p25 VP8 encode took 16.8–26.5 %: 0.6–1.0 of a call.
 * Counted at the lower end; what it misses, the cut while pictures fall behind catches (overload-share.ts). The first
 * camera's is in the margin DEFAULT_MEGAPIXELS_PER_CORE leaves (chosen with one camera running): only the others count.
 */
export const CAMERA_SHARE = 0.6;

/** Counted pixels per second the cameras with calls cost besides their encoders (CAMERA_SHARE), the costliest aside. */
export function camerasCost(cameras: readonly CameraLoad[]): number {
  const each = cameras.filter((c) => c.encodes > 0).map((c) => CAMERA_SHARE * frameCost(c.width, c.height) * c.fps);
  return each.reduce((sum, x) => sum + x, 0) - Math.max(0, ...each);
}

/** Counted pixels per second a camera's calls cost at `divisor` (frameCost of the scaled frame). */
export function cameraCost(c: CameraLoad, divisor: number): number {
  const { width, height } = scaledSize(c.width, c.height, divisor);
  return c.encodes * frameCost(width, height) * c.fps;
}

/**
 * The divisor of each camera's picture (1 = full size) so that the calls' counted pixels per second (cameraCost), with
 * the further cameras' own cost (camerasCost), fit `budget` (counted pixels per second; 0 or less: no budget).
 * Cameras without calls stay at 1. When even the smallest pictures do not fit, every camera with calls ends at
 * MAX_DIVISOR (best effort). Deterministic: ties go to the camera with more calls, then the name.
 */
export function planDivisors(cameras: readonly CameraLoad[], budget: number): Map<string, number> {
  const plan = new Map<string, number>(cameras.map((c) => [c.name, 1]));
  const encodes = cameras.reduce((n, c) => n + Math.max(0, c.encodes), 0);
  if (budget <= 0 || encodes <= 1) return plan;
  const fixed = camerasCost(cameras);
  const total = (): number => cameras.reduce((sum, c) => sum + cameraCost(c, plan.get(c.name) ?? 1), fixed);
  while (total() > budget) {
    let pick: CameraLoad | undefined;
    let pickCost = 0;
    for (const c of cameras) {
      const d = plan.get(c.name) ?? 1;
      if (c.encodes <= 0 || d >= MAX_DIVISOR) continue;
      const cost = cameraCost(c, d);
      const better =
        pick === undefined ||
        cost > pickCost ||
        (cost === pickCost && (c.encodes > pick.encodes || (c.encodes === pick.encodes && c.name < pick.name)));
      if (better) {
        pick = c;
        pickCost = cost;
      }
    }
    if (pick === undefined) break;
    plan.set(pick.name, (plan.get(pick.name) ?? 1) * 2);
  }
  return plan;
}

/** The size a camera's calls get at `divisor` (1, 2 or 4): halved once per step, each side even as I420 wants (FrameScaler). */
export function scaledSize(width: number, height: number, divisor: number): { width: number; height: number } {
  let w = width;
  let h = height;
  for (let d = 1; d < divisor; d *= 2) {
    w = Math.max(2, Math.floor(w / 4) * 2);
    h = Math.max(2, Math.floor(h / 4) * 2);
  }
  return { width: w, height: h };
}
