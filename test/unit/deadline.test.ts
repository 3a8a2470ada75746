/** The shutdown's shared deadline (L7): steps that hang or fail cannot stretch the shutdown past it. */
import { describe, expect, it } from "vitest";
import { stepWithin } from "../../src/util/deadline.ts";

describe("stepWithin", () => {
  it("three steps that never finish all end by one shared deadline", async () => {
    const started = Date.now();
    const deadline = started + 300;
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push((await stepWithin(deadline, () => new Promise(() => undefined))).outcome);
    expect(outcomes).toEqual(["overran", "overran", "overran"]);
    // One budget for all three (not 3 × 300 ms); generous for a busy machine.
    expect(Date.now() - started).toBeLessThan(800);
  });

  it("reports a step that finishes or fails in time", async () => {
    const deadline = Date.now() + 5000;
    expect(await stepWithin(deadline, () => Promise.resolve(1))).toEqual({ outcome: "done" });
    const failed = await stepWithin(deadline, () => Promise.reject(new Error("boom")));
    expect(failed.outcome).toBe("failed");
    expect(failed.err).toBeInstanceOf(Error);
  });
});
