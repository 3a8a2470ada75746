/**
 * Carries out the encode budget (encode-budget.ts) for the camera hub: on every change of the calls or of a camera's
 * size it plans each camera's divisor again, hands the changed ones to `apply` (the camera pipeline scales its
 * frames), and logs one line per change of the plan. The plan follows the calls held, not measured frame rates, so it
 * changes only when a call starts or ends (a ringing call counts: its picture is already the right size when it is
 * answered) or the budget does (EncodeSpeedWatch, when the machine's measured speed moved by a tenth; OverloadBrake,
 * while a camera's picture falls behind).
 */
import type { Logger } from "../util/logger.ts";
import { cameraCost, camerasCost, planDivisors, scaledSize, type CameraLoad } from "./encode-budget.ts";

export class EncodeGovernor {
  private readonly divisors = new Map<string, number>();

  /** `budget`: counted pixels per second the calls may encode (encode-budget.ts cameraCost; 0: never scale). */
  constructor(
    private budget: number,
    private readonly apply: (camera: string, divisor: number) => void,
    private readonly log: Logger,
  ) {}

  divisor(camera: string): number {
    return this.divisors.get(camera) ?? 1;
  }

  /** A new budget (0: never scale); the next update() plans with it. */
  setBudget(budget: number): void {
    this.budget = budget;
  }

  update(loads: readonly CameraLoad[]): void {
    const plan = planDivisors(loads, this.budget);
    let changed = false;
    for (const [camera, d] of plan) {
      if (this.divisor(camera) === d) continue;
      changed = true;
      this.divisors.set(camera, d);
      this.apply(camera, d);
    }
    if (!changed) return;
    const calls = loads.reduce((n, c) => n + c.encodes, 0);
    const mpx = (px: number): number => Math.round(px / 1e5) / 10;
    const full = loads.reduce((sum, c) => sum + cameraCost(c, 1), camerasCost(loads));
    const scaled = loads.filter((c) => this.divisor(c.name) > 1 && c.encodes > 0);
    if (scaled.length === 0) {
      this.log.info(
        { calls, needMpxPerS: mpx(full), budgetMpxPerS: mpx(this.budget) },
        "encode load within budget: calls get the full picture again",
      );
      return;
    }
    const sizes = Object.fromEntries(
      scaled.map((c) => {
        const s = scaledSize(c.width, c.height, this.divisor(c.name));
        return [c.name, `${String(s.width)}x${String(s.height)}`];
      }),
    );
    this.log.warn(
      { calls, needMpxPerS: mpx(full), budgetMpxPerS: mpx(this.budget), scaled: sizes },
      "more calls than the CPU encodes at full size: pictures scaled down, frame rate kept",
    );
  }
}
