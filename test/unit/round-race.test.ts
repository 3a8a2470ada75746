/**
 * RoundRace (src/doorbell/round-race.ts): a doorbell round's rings across users and paths. The first answer on any
 * path by anyone wins and withdraws every other ring of the round at once; a decline withdraws the user's other
 * ring; outcomes settle when a user's last ring ends; a cancelled round withdraws what is still ringing.
 */
import { describe, expect, it } from "vitest";
import { RoundRace, type Way } from "../../src/doorbell/round-race.ts";

function rig(): { race: RoundRace; withdrawn: string[]; enter: (user: string, way: Way) => void } {
  const race = new RoundRace();
  const withdrawn: string[] = [];
  return {
    race,
    withdrawn,
    enter: (user, way) => {
      race.enter(user, way, () => withdrawn.push(`${user} ${way}`));
    },
  };
}

describe("RoundRace", () => {
  it("a MatrixRTC answer by one user withdraws every other ring of the round, legacy and MatrixRTC, of every user, once", () => {
    const { race, withdrawn, enter } = rig();
    enter("@alice", "legacy");
    enter("@alice", "matrixrtc");
    enter("@bob", "legacy");
    enter("@carol", "matrixrtc");
    expect(race.over).toBe(false);
    expect(race.answered("@carol", "matrixrtc")).toBe(true);
    expect(withdrawn.sort()).toEqual(["@alice legacy", "@alice matrixrtc", "@bob legacy"]);
    expect(race.answeredBy).toEqual({ user: "@carol", way: "matrixrtc" });
    expect(race.over).toBe(true);
    // A late answer (a legacy answer that crossed the withdrawal) is not the kept call, and withdraws nothing again.
    expect(race.answered("@bob", "legacy")).toBe(false);
    // The withdrawn rings' own ends arrive later and change nothing.
    race.ended("@alice", "legacy", "unanswered");
    race.ended("@alice", "matrixrtc", "declined");
    expect(withdrawn).toHaveLength(3);
    expect(race.outcomes()).toEqual({ "@alice": "not_rung", "@bob": "not_rung", "@carol": "answered" });
  });

  it("a user rung both ways who answers on the legacy path: their own MatrixRTC ring is withdrawn, the answer is kept", () => {
    const { race, withdrawn, enter } = rig();
    enter("@alice", "legacy");
    enter("@alice", "matrixrtc");
    expect(race.answered("@alice", "legacy")).toBe(true);
    expect(withdrawn).toEqual(["@alice matrixrtc"]);
    expect(race.outcome("@alice")).toBe("answered");
    // Shutdown later leaves the answered call to the bot's own shutdown.
    race.cancel();
    expect(withdrawn).toEqual(["@alice matrixrtc"]);
  });

  it("a ring placed after the round was answered is withdrawn as it goes out", () => {
    const { race, withdrawn, enter } = rig();
    enter("@alice", "legacy");
    race.answered("@alice", "legacy");
    enter("@bob", "matrixrtc");
    enter("@bob", "legacy");
    expect(withdrawn).toEqual(["@bob matrixrtc", "@bob legacy"]);
    expect(race.outcome("@bob")).toBe("not_rung");
  });

  it("a decline on one path withdraws the user's other ring; the others keep ringing; the outcome is declined", () => {
    const { race, withdrawn, enter } = rig();
    enter("@alice", "legacy");
    enter("@alice", "matrixrtc");
    enter("@bob", "legacy");
    race.ended("@alice", "matrixrtc", "declined");
    expect(withdrawn).toEqual(["@alice legacy"]);
    expect(race.outcome("@alice")).toBe("declined");
    expect(race.over).toBe(false);
    expect(race.answered("@bob", "legacy")).toBe(true);
    expect(withdrawn).toEqual(["@alice legacy"]);
  });

  it("a user rung both ways is unanswered only when both rings have ended; a decline after a timeout is a decline", () => {
    const { race, enter } = rig();
    enter("@alice", "legacy");
    enter("@alice", "matrixrtc");
    enter("@bob", "legacy");
    enter("@bob", "matrixrtc");
    race.ended("@alice", "legacy", "unanswered");
    expect(race.outcome("@alice")).toBe("pending");
    race.ended("@alice", "matrixrtc", "unanswered");
    expect(race.outcome("@alice")).toBe("unanswered");
    race.ended("@bob", "legacy", "unanswered");
    race.ended("@bob", "matrixrtc", "declined");
    expect(race.outcome("@bob")).toBe("declined");
    expect(race.answeredBy).toBeUndefined();
  });

  it("users not rung keep why; a user with a ring out is not marked failed by the other path's failure", () => {
    const { race, enter } = rig();
    race.notRung("@alice", "no_room");
    race.notRung("@bob", "busy");
    enter("@carol", "legacy");
    race.notRung("@carol", "failed");
    expect(race.outcomes()).toEqual({ "@alice": "no_room", "@bob": "busy", "@carol": "pending" });
    // An outcome once settled stays.
    race.notRung("@alice", "failed");
    expect(race.outcome("@alice")).toBe("no_room");
  });

  it("cancel (shutdown) withdraws every ring still out and every ring placed after; no answer wins after it", () => {
    const { race, withdrawn, enter } = rig();
    enter("@alice", "legacy");
    enter("@bob", "matrixrtc");
    race.ended("@bob", "matrixrtc", "unanswered");
    race.cancel();
    expect(withdrawn).toEqual(["@alice legacy"]);
    expect(race.over).toBe(true);
    enter("@carol", "matrixrtc");
    expect(withdrawn).toEqual(["@alice legacy", "@carol matrixrtc"]);
    expect(race.answered("@alice", "legacy")).toBe(false);
    expect(race.answeredBy).toBeUndefined();
  });
});
