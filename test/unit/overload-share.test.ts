/** The budget's share after cameras' pictures fell behind (src/media/overload-share.ts): the pure policy. */
import { describe, expect, it } from "vitest";
import { COOLDOWN_MS, CUT, FLOOR, OverloadShare, QUIET_MS } from "../../src/media/overload-share.ts";

describe("OverloadShare", () => {
  it("cuts on a late picture, not again within the cooldown (the other cameras of the same overload)", () => {
    const s = new OverloadShare();
    expect(s.late(1000)).toBe(true);
    expect(s.share).toBeCloseTo(CUT);
    expect(s.late(1000 + 100)).toBe(false);
    expect(s.late(1000 + COOLDOWN_MS - 1)).toBe(false);
    expect(s.share).toBeCloseTo(CUT);
    expect(s.late(1000 + COOLDOWN_MS)).toBe(true);
    expect(s.share).toBeCloseTo(CUT * CUT);
  });

  it("stops at the floor", () => {
    const s = new OverloadShare();
    const cuts: boolean[] = [];
    for (let i = 0; i < 10; i++) cuts.push(s.late(i * COOLDOWN_MS));
    expect(s.share).toBe(FLOOR);
    // 0.7^4 = 0.24 is the fourth cut (to the floor); none after it.
    expect(cuts.filter(Boolean)).toHaveLength(4);
  });

  it("steps back up after a quiet time, one step at a time, to whole", () => {
    const s = new OverloadShare();
    s.late(0);
    s.late(COOLDOWN_MS);
    expect(s.recover(COOLDOWN_MS + QUIET_MS - 1)).toBe(false);
    expect(s.recover(COOLDOWN_MS + QUIET_MS)).toBe(true);
    expect(s.share).toBeCloseTo(CUT);
    expect(s.recover(COOLDOWN_MS + QUIET_MS + 1000)).toBe(false); // a quiet time after each step
    expect(s.recover(COOLDOWN_MS + 2 * QUIET_MS)).toBe(true);
    expect(s.share).toBe(1);
    expect(s.recover(COOLDOWN_MS + 5 * QUIET_MS)).toBe(false);
  });

  it("a late picture while cut (even one that cuts nothing: cooldown, floor) restarts the quiet time", () => {
    const s = new OverloadShare();
    s.late(0);
    expect(s.late(5000)).toBe(false);
    expect(s.recover(QUIET_MS)).toBe(false);
    expect(s.recover(5000 + QUIET_MS)).toBe(true);
  });

  it("reset makes it whole at once, and the next late picture cuts without waiting", () => {
    const s = new OverloadShare();
    expect(s.reset()).toBe(false);
    s.late(0);
    expect(s.reset()).toBe(true);
    expect(s.share).toBe(1);
    expect(s.late(1)).toBe(true);
  });
});
