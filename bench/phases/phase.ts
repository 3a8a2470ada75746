/** What a phase is given, and what it is: a name for --only, whether it runs by default, and its run. */
import type { Plan } from "../plan.ts";
import type { Results } from "../report/results.ts";
import type { Rig, Say } from "../rig/rig.ts";

export interface PhaseContext {
  rig: Rig;
  plan: Plan;
  results: Results;
  say: Say;
}

export interface Phase {
  /** For --only (lowercase, dashes). */
  name: string;
  /** One line for --list. */
  about: string;
  /** Runs without --only (the drift phase only with --drift). */
  byDefault: boolean;
  run(ctx: PhaseContext): Promise<void>;
}
