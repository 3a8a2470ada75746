/** partyOf: which party sent a call event (wire.ts). */
import { describe, expect, it } from "vitest";
import { partyOf } from "../../src/call/wire.ts";

describe("partyOf", () => {
  it("version 0 (integer) has no party, even when it carries a party_id", () => {
    expect(partyOf({ version: 0 })).toBeNull();
    expect(partyOf({ version: 0, party_id: "ABC" })).toBeNull();
  });

  it("version 1 gives its party_id", () => {
    expect(partyOf({ version: "1", party_id: "ABC" })).toBe("ABC");
  });

  it("version 1 without a party_id is null", () => {
    expect(partyOf({ version: "1" })).toBeNull();
    expect(partyOf({ version: "1", party_id: undefined })).toBeNull();
  });

  it("any other version is treated as 1", () => {
    expect(partyOf({ version: "2", party_id: "P" })).toBe("P");
    expect(partyOf({ version: 1, party_id: "P" })).toBe("P");
  });
});
