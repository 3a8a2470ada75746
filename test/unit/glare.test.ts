/** The glare rule for calls placed to the bot (spec voip_events.md "Glare"), as a pure decision. */
import { describe, expect, it } from "vitest";
import { decideInvite, lesserCallId, type RoomCall } from "../../src/call/glare.ts";
import { CallState } from "../../src/call/state.ts";

const ours = (state: CallState, callId = "1700000000500ours"): RoomCall => ({ direction: "outgoing", callId, state });

describe("decideInvite", () => {
  it("no call in the room: answer", () => {
    expect(decideInvite(undefined, "x")).toEqual({ kind: "answer" });
  });

  it("an ended call does not count", () => {
    expect(decideInvite(ours(CallState.Ended), "x")).toEqual({ kind: "answer" });
  });

  it("ours still being prepared (nothing sent): cancel ours and answer theirs, whatever the IDs", () => {
    for (const theirs of ["0", "1700000000400theirs", "1700000000600theirs", "zzz"]) {
      expect(decideInvite(ours(CallState.Preparing), theirs)).toEqual({ kind: "replace_ours", why: "ours was still being prepared" });
    }
  });

  it("ours ringing and theirs has the lesser call ID: theirs wins", () => {
    expect(decideInvite(ours(CallState.Ringing, "1700000000500aaaa"), "1700000000400zzzz")).toEqual({
      kind: "replace_ours",
      why: "their call ID is the lesser",
    });
  });

  it("ours ringing and ours has the lesser call ID: ours wins, theirs is ignored", () => {
    expect(decideInvite(ours(CallState.Ringing, "1700000000400zzzz"), "1700000000500aaaa")).toEqual({
      kind: "keep_ours",
      why: "our call ID is the lesser",
    });
  });

  it("compares lexicographically (code units), not numerically or by locale", () => {
    // "9" > "10" as strings; uppercase sorts before lowercase.
    expect(decideInvite(ours(CallState.Ringing, "9"), "10").kind).toBe("replace_ours");
    expect(decideInvite(ours(CallState.Ringing, "abc"), "ABC").kind).toBe("replace_ours");
    expect(decideInvite(ours(CallState.Ringing, "ABC"), "abc").kind).toBe("keep_ours");
    expect(lesserCallId("a", "B")).toBe("B");
  });

  it("both sides reach the same verdict (the rule is symmetric)", () => {
    const ids = ["1700000000400x", "1700000000500y", "17000000004", "A", "a"];
    for (const a of ids) {
      for (const b of ids) {
        if (a === b) continue;
        const atA = decideInvite(ours(CallState.Ringing, a), b).kind; // A's view: B's invite arrives
        const atB = decideInvite(ours(CallState.Ringing, b), a).kind; // B's view: A's invite arrives
        // Exactly one call survives: one side keeps its own, the other replaces its own.
        expect([atA, atB].sort()).toEqual(["keep_ours", "replace_ours"]);
      }
    }
  });

  it("the same call ID (an echo) is never answered", () => {
    expect(decideInvite(ours(CallState.Ringing, "same"), "same").kind).toBe("keep_ours");
  });

  it.each([CallState.Connecting, CallState.Connected])("ours already answered (%s): busy", (state) => {
    expect(decideInvite(ours(state), "0").kind).toBe("busy");
  });

  it.each([CallState.Preparing, CallState.Connecting, CallState.Connected])("another call to the bot (%s): busy", (state) => {
    expect(decideInvite({ direction: "incoming", callId: "1", state }, "0").kind).toBe("busy");
  });
});
