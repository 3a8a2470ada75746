/** RingRace: the first way answered wins, the others are withdrawn once and at once. */
import { describe, expect, it } from "vitest";
import { RingRace } from "../../src/call/ring-race.ts";

describe("RingRace", () => {
  it("the first answer wins and withdraws the others, once", () => {
    const race = new RingRace<"legacy" | "matrixrtc">();
    const withdrawn: string[] = [];
    race.enter("legacy", () => withdrawn.push("legacy"));
    race.enter("matrixrtc", () => withdrawn.push("matrixrtc"));
    expect(race.answered("legacy")).toBe(true);
    expect(withdrawn).toEqual(["matrixrtc"]);
    expect(race.answered("matrixrtc")).toBe(false);
    expect(race.answered("legacy")).toBe(true);
    expect(withdrawn).toEqual(["matrixrtc"]);
    expect(race.winner).toBe("legacy");
  });

  it("a way entered after the race was won is withdrawn as it enters; the winner's own entry is not", () => {
    const race = new RingRace<string>();
    expect(race.answered("matrixrtc")).toBe(true);
    const withdrawn: string[] = [];
    race.enter("legacy", () => withdrawn.push("legacy"));
    race.enter("matrixrtc", () => withdrawn.push("matrixrtc"));
    expect(withdrawn).toEqual(["legacy"]);
  });

  it("nothing is withdrawn before an answer", () => {
    const race = new RingRace<string>();
    let withdrawn = 0;
    race.enter("a", () => withdrawn++);
    race.enter("b", () => withdrawn++);
    expect(race.winner).toBeUndefined();
    expect(withdrawn).toBe(0);
  });
});
