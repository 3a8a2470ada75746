/**
 * What a bench run does, from argv (and GST_PYTHON etc. from the environment, read where they are used): which phases
 * run, how long each window is. Parsed with zod like every outside input; an unknown flag or phase stops the run.
 *
 *   --quick                  short windows, 720p only, fewer calls (a ~3-minute smoke of every phase)
 *   --only a,b               run only these phases (names: see --list); default: every default phase
 *   --list                   print the phases and exit
 *   --drift-minutes N        length of the drift phase (one 720p call, one window a minute); default 2, quick 1
 *   --talkback-seconds N     length of the talkback latency run (bursts of tone); default 30, quick 15
 *   --drift                  the 10-minute drift of issue 12/14: --drift-minutes 10 and talkback for 600 s
 */
import { z } from "zod";

export const FPS = 25;

export interface Resolution {
  name: string;
  width: number;
  height: number;
}
export const R720: Resolution = { name: "720p25", width: 1280, height: 720 };
export const R1080: Resolution = { name: "1080p25", width: 1920, height: 1080 };

export interface Series {
  res: Resolution;
  /** Calls on one camera, measured one count after the other. */
  calls: number[];
  /** Then this many calls over this many cameras. */
  multi: { calls: number; cameras: number };
}

export interface Plan {
  mode: "quick" | "full";
  phases: string[];
  latencyWindowS: number;
  windowS: number;
  /** The longest a new call is given to reach full size and rate before its window starts (overload never does). */
  settleMs: number;
  ttffRepeats: number;
  series: Series[];
  /** The overload phase (720p25): these call counts on one camera, then calls over several cameras. */
  overload: { calls: number[]; multi: { calls: number; cameras: number } };
  referenceCalls: number[];
  referenceLatencyWindowS: number;
  decodeFloors: Resolution[];
  encodeK: number[];
  floorWindowS: number;
  driftMinutes: number;
  talkbackSeconds: number;
  /** The whole run is stopped after this (drift and talkback lengths are added to it). */
  deadlineMs: number;
}

const QUICK = {
  latencyWindowS: 15,
  windowS: 6,
  settleMs: 4_000,
  ttffRepeats: 2,
  series: [{ res: R720, calls: [1, 2], multi: { calls: 2, cameras: 2 } }],
  overload: { calls: [1, 4, 8], multi: { calls: 8, cameras: 2 } },
  referenceCalls: [1],
  referenceLatencyWindowS: 10,
  decodeFloors: [R720],
  encodeK: [0, 1],
  floorWindowS: 6,
  driftMinutes: 1,
  talkbackSeconds: 15,
  deadlineMs: 12 * 60_000,
};

const FULL = {
  latencyWindowS: 60,
  windowS: 20,
  settleMs: 6_000,
  ttffRepeats: 5,
  series: [
    { res: R720, calls: [1, 2, 4, 8], multi: { calls: 8, cameras: 4 } },
    { res: R1080, calls: [1, 2, 4, 8], multi: { calls: 8, cameras: 4 } },
  ],
  overload: { calls: [1, 4, 8], multi: { calls: 8, cameras: 4 } },
  referenceCalls: [1, 2, 4, 8],
  referenceLatencyWindowS: 60,
  decodeFloors: [R720, R1080],
  encodeK: [0, 1, 2],
  floorWindowS: 15,
  driftMinutes: 2,
  talkbackSeconds: 30,
  deadlineMs: 45 * 60_000,
};

const argsSchema = z
  .object({
    quick: z.boolean(),
    drift: z.boolean(),
    list: z.boolean(),
    only: z.array(z.string().regex(/^[a-z0-9-]+$/)).optional(),
    driftMinutes: z.coerce.number().int().min(1).max(120).optional(),
    talkbackSeconds: z.coerce.number().int().min(5).max(7_200).optional(),
  })
  .strict();
export type BenchArgs = z.infer<typeof argsSchema>;

export class PlanError extends Error {}

/** argv → options (no defaults applied yet). */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const raw: Record<string, unknown> = { quick: false, drift: false, list: false };
  const valueOf = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new PlanError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      i++;
      return valueOf(i - 1, flag);
    };
    if (flag === "--quick") raw["quick"] = true;
    else if (flag === "--drift") raw["drift"] = true;
    else if (flag === "--list") raw["list"] = true;
    else if (flag === "--only")
      raw["only"] = value()
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    else if (flag === "--drift-minutes") raw["driftMinutes"] = value();
    else if (flag === "--talkback-seconds") raw["talkbackSeconds"] = value();
    else throw new PlanError(`unknown flag ${a} (use --quick, --only a,b, --list, --drift, --drift-minutes N, --talkback-seconds N)`);
  }
  const parsed = argsSchema.safeParse(raw);
  if (!parsed.success) throw new PlanError(parsed.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; "));
  return parsed.data;
}

/**
 * The plan: the preset of the mode, the selected phases (known names only, in registry order), and the lengths.
 * `known` is the registry's phase names in their order, `defaults` those that run without --only.
 */
export function makePlan(args: BenchArgs, known: readonly string[], defaults: readonly string[]): Plan {
  const preset = args.quick ? QUICK : FULL;
  const unknown = (args.only ?? []).filter((p) => !known.includes(p));
  if (unknown.length > 0) throw new PlanError(`unknown phase(s) ${unknown.join(", ")}; phases: ${known.join(", ")}`);
  const wanted = args.only ?? defaults;
  const driftMinutes = args.driftMinutes ?? (args.drift ? 10 : preset.driftMinutes);
  const talkbackSeconds = args.talkbackSeconds ?? (args.drift ? 600 : preset.talkbackSeconds);
  return {
    ...preset,
    mode: args.quick ? "quick" : "full",
    phases: known.filter((p) => wanted.includes(p)),
    driftMinutes,
    talkbackSeconds,
    deadlineMs: preset.deadlineMs + driftMinutes * 60_000 + talkbackSeconds * 2_000,
  };
}

/** The cameras a plan's series use per resolution (the bot's config lists them all up front). */
export function camerasPerResolution(plan: Plan): { res: Resolution; count: number }[] {
  const out: { res: Resolution; count: number }[] = [{ res: R720, count: 1 }];
  for (const s of plan.series) {
    const entry = out.find((e) => e.res === s.res);
    if (entry) entry.count = Math.max(entry.count, s.multi.cameras);
    else out.push({ res: s.res, count: s.multi.cameras });
  }
  for (const r of plan.decodeFloors) if (!out.some((e) => e.res === r)) out.push({ res: r, count: 1 });
  const r720 = out.find((e) => e.res === R720);
  if (r720 && plan.phases.includes("overload")) r720.count = Math.max(r720.count, plan.overload.multi.cameras);
  return out;
}

/** Direct chats the bench needs: one per call it holds at once. */
export function roomsNeeded(plan: Plan): number {
  const overload = plan.phases.includes("overload") ? [...plan.overload.calls, plan.overload.multi.calls] : [];
  return Math.max(2, ...plan.series.flatMap((s) => [...s.calls, s.multi.calls]), ...overload);
}
