import { describe, expect, it } from "vitest";
import { makePlan, parseArgs, PlanError } from "../../bench/plan.ts";

const KNOWN = ["ttff", "latency", "talkback", "drift"];
const DEFAULTS = ["ttff", "latency", "talkback"];

describe("bench plan", () => {
  it("runs the default phases, or only those asked for, in registry order", () => {
    expect(makePlan(parseArgs([]), KNOWN, DEFAULTS).phases).toEqual(DEFAULTS);
    expect(makePlan(parseArgs(["--only", "talkback,latency"]), KNOWN, DEFAULTS).phases).toEqual(["latency", "talkback"]);
    expect(makePlan(parseArgs(["--only=drift"]), KNOWN, DEFAULTS).phases).toEqual(["drift"]);
  });

  it("--drift makes the drift and talkback runs 10 minutes; explicit lengths win", () => {
    const p = makePlan(parseArgs(["--drift"]), KNOWN, DEFAULTS);
    expect([p.driftMinutes, p.talkbackSeconds]).toEqual([10, 600]);
    const q = makePlan(parseArgs(["--quick", "--talkback-seconds", "45"]), KNOWN, DEFAULTS);
    expect([q.mode, q.talkbackSeconds, q.driftMinutes]).toEqual(["quick", 45, 1]);
  });

  it("refuses unknown flags, unknown phases and bad values", () => {
    expect(() => parseArgs(["--fast"])).toThrow(PlanError);
    expect(() => makePlan(parseArgs(["--only", "latency,nope"]), KNOWN, DEFAULTS)).toThrow(/nope/);
    expect(() => parseArgs(["--talkback-seconds", "-3"])).toThrow(PlanError);
    expect(() => parseArgs(["--drift-minutes"])).toThrow(/needs a value/);
  });
});
