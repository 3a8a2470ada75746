import { describe, expect, it } from "vitest";
import { concurrentLimitText, UserCallRate, userRateText } from "../../src/admission/call-rate.ts";

describe("calls per user per minute", () => {
  it("allows perMinute calls in any 60 s, then says how long to wait", () => {
    let now = 1_000_000;
    const rate = new UserCallRate(3, () => now);
    for (let i = 0; i < 3; i++) {
      expect(rate.take("@a:x")).toEqual({ ok: true });
      now += 10_000;
    }
    // Calls at 0, 10 and 20 s; now 30 s: the first leaves the window at 60 s.
    expect(rate.take("@a:x")).toEqual({ ok: false, retryAfterMs: 30_000 });
    // A refused call is not counted: at 60 s exactly one more is allowed.
    now = 1_000_000 + 60_000;
    expect(rate.take("@a:x")).toEqual({ ok: true });
    expect(rate.take("@a:x").ok).toBe(false);
    // Other users have their own window.
    expect(rate.take("@b:x")).toEqual({ ok: true });
  });

  it("keeps memory bounded however many users call", () => {
    let now = 0;
    const rate = new UserCallRate(1, () => now);
    for (let i = 0; i < 10_000; i++) {
      rate.take(`@u${i}:x`);
      now += 1;
    }
    expect(rate.trackedUsers()).toBeLessThanOrEqual(4096);
  });

  it("replies in plain words", () => {
    expect(userRateText(6, 23_400)).toBe("You have started 6 calls in the last minute, the most I allow. Try again in 24 s.");
    expect(userRateText(1, 10)).toContain("1 call in the last minute");
    expect(concurrentLimitText(8)).toBe("I already have 8 calls in progress, the most I take at once. Try again when one has ended.");
  });
});
