/**
 * The share of the encode budget left when the machine turned out shorter of CPU than the budget assumed (issue 14
 * item 5): the pure policy. The budget counts what the calls' encoders cost, not what else the machine does: each
 * camera's decode, its frames' reading and scaling, whatever else runs there. With 8 calls over four 720p25 cameras
 * on the 2-core machine the budget planned 640×360 for all, which fitted it, yet every camera's front end fell 3–4 s
 * behind and was restarted again and again (bench, 2026-12-04 20:55: 16 fps a call, 3.8–5.0 s late); at 320×180 the
 * same calls held 25 fps at 97 ms (a run with the budget set to 25 per core). So when a camera's picture falls
 * behind while more than one call encodes (CameraRun's late), the budget is cut by CUT, down to FLOOR, at most once a
 * COOLDOWN_MS (a cut needs a few seconds to show: a front end's rise is measured over 10 s); after QUIET_MS without
 * one it steps back up by the same factor, and it is whole again as soon as at most one call encodes (a single call
 * is never scaled).
 */

import type { Logger } from "../util/logger.ts";

export const CUT = 0.7;
export const FLOOR = 0.25;
export const COOLDOWN_MS = 10_000;
export const QUIET_MS = 120_000;

export class OverloadShare {
  /** What the configured budget is multiplied by (FLOOR … 1). */
  share = 1;
  private lastLateAt = Number.NEGATIVE_INFINITY;
  private lastChangeAt = Number.NEGATIVE_INFINITY;

  /** A camera's picture falls behind: true when the share was cut (not within COOLDOWN_MS of the last change, not at FLOOR). */
  late(nowMs: number): boolean {
    this.lastLateAt = nowMs;
    if (this.share <= FLOOR || nowMs - this.lastChangeAt < COOLDOWN_MS) return false;
    this.share = Math.max(FLOOR, this.share * CUT);
    this.lastChangeAt = nowMs;
    return true;
  }

  /** True when the share stepped back up: QUIET_MS without a late picture since the last late one and the last change. */
  recover(nowMs: number): boolean {
    if (this.share >= 1 || nowMs - this.lastLateAt < QUIET_MS || nowMs - this.lastChangeAt < QUIET_MS) return false;
    this.share = Math.min(1, this.share / CUT);
    // Float steps (0.7 × 0.7 / 0.7 / 0.7) may end a hair under 1: whole is whole.
    if (this.share > 0.999) this.share = 1;
    this.lastChangeAt = nowMs;
    return true;
  }

  /** At most one call encodes: the whole budget again. True when that changed the share. */
  reset(): boolean {
    if (this.share === 1) return false;
    this.share = 1;
    this.lastLateAt = Number.NEGATIVE_INFINITY;
    this.lastChangeAt = Number.NEGATIVE_INFINITY;
    return true;
  }
}

/** How often a lowered budget checks whether it may step back up (OverloadShare.recover). */
const RECOVER_CHECK_MS = 10_000;

/** Carries OverloadShare out for the camera hub: the clock, the recovery checks, a log line per change, `apply` after each. */
export class OverloadBrake {
  private readonly policy = new OverloadShare();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly apply: () => void,
    private readonly log: Logger,
  ) {}

  get share(): number {
    return this.policy.share;
  }

  /** `camera`'s picture is falling behind while more than one call encodes. */
  late(camera: string, riseMs: number): void {
    if (!this.policy.late(Date.now())) return;
    this.log.warn(
      { camera, riseMs: Math.round(riseMs), budgetShare: round2(this.policy.share) },
      "a camera's picture is falling behind (the machine is short of CPU): the encode budget is lowered",
    );
    this.apply();
    this.timer ??= setInterval(() => {
      this.recover();
    }, RECOVER_CHECK_MS).unref();
  }

  /** At most one call encodes: the whole budget again (the caller applies it). True when the share changed. */
  reset(): boolean {
    this.stop();
    return this.policy.reset();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private recover(): void {
    if (!this.policy.recover(Date.now())) return;
    this.log.info(
      { budgetShare: round2(this.policy.share) },
      "no camera's picture fell behind for two minutes: the encode budget steps back up",
    );
    if (this.policy.share >= 1) this.stop();
    this.apply();
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;
