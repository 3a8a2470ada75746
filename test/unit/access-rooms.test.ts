/** The allowlist (AccessList) and the room check before a call (checkCallRoom). */
import { describe, expect, it } from "vitest";
import { AccessList } from "../../src/admission/access.ts";
import { checkCallRoom } from "../../src/admission/room-check.ts";

describe("AccessList", () => {
  it("allows listed users exactly", () => {
    const acl = new AccessList(["@alice:example.org", "@bob:other.net"]);
    expect(acl.allows("@alice:example.org")).toBe(true);
    expect(acl.allows("@bob:other.net")).toBe(true);
    expect(acl.allows("@carol:example.org")).toBe(false);
    expect(acl.allows("@alice:other.net")).toBe(false);
    // User IDs are compared as given: no prefix or suffix matches.
    expect(acl.allows("@alice:example.org.evil.com")).toBe(false);
    expect(acl.allows("@alice:example.or")).toBe(false);
    expect(acl.allows("@alice")).toBe(false);
  });

  it("an empty list allows nobody", () => {
    const acl = new AccessList([]);
    expect(acl.allows("@alice:example.org")).toBe(false);
  });

  it("*:server allows every user of that server, and only of that server", () => {
    const acl = new AccessList(["*:example.org"]);
    expect(acl.allows("@alice:example.org")).toBe(true);
    expect(acl.allows("@x:example.org")).toBe(true);
    expect(acl.allows("@alice:other.org")).toBe(false);
    expect(acl.allows("@alice:sub.example.org")).toBe(false);
    expect(acl.allows("@alice:notexample.org")).toBe(false);
    expect(acl.allows("@alice:example.org.evil.com")).toBe(false);
    expect(acl.allows("@alice:example.org:8448")).toBe(false);
  });

  it("server names match case-insensitively, in the entry and in the user ID", () => {
    const acl = new AccessList(["*:Example.ORG"]);
    expect(acl.allows("@alice:example.org")).toBe(true);
    expect(acl.allows("@alice:EXAMPLE.org")).toBe(true);
  });

  it("a server with a port is its own server", () => {
    const acl = new AccessList(["*:example.org:8448"]);
    expect(acl.allows("@alice:example.org:8448")).toBe(true);
    expect(acl.allows("@alice:example.org")).toBe(false);
  });

  it("users and servers combine", () => {
    const acl = new AccessList(["@bob:other.net", "*:example.org"]);
    expect(acl.allows("@bob:other.net")).toBe(true);
    expect(acl.allows("@alice:example.org")).toBe(true);
    expect(acl.allows("@eve:other.net")).toBe(false);
  });

  it.each([
    ["no sigil", "alice:example.org"],
    ["a room ID", "!room:example.org"],
    ["an empty localpart", "@:example.org"],
    ["no server", "@alice"],
    ["empty", ""],
    ["a server-pattern as user", "*:example.org"],
  ])("rejects a malformed ID (%s) even when its server is allowed", (_label, id) => {
    const acl = new AccessList(["*:example.org"]);
    expect(acl.allows(id)).toBe(false);
  });
});

describe("checkCallRoom", () => {
  const BOT = "@camera:example.org";
  const acl = new AccessList(["@alice:example.org"]);

  it("OK in a room with the bot and one allowed user, naming the callee", () => {
    expect(checkCallRoom([BOT, "@alice:example.org"], BOT, acl)).toEqual({ ok: true, callee: "@alice:example.org" });
    // Order does not matter.
    expect(checkCallRoom(["@alice:example.org", BOT], BOT, acl)).toEqual({ ok: true, callee: "@alice:example.org" });
  });

  it("refuses when the bot is not joined", () => {
    expect(checkCallRoom(["@alice:example.org", "@bob:example.org"], BOT, acl)).toEqual({
      ok: false,
      reason: "I am not joined to this room.",
    });
    expect(checkCallRoom([], BOT, acl)).toEqual({ ok: false, reason: "I am not joined to this room." });
  });

  it("refuses when the bot is alone", () => {
    expect(checkCallRoom([BOT], BOT, acl)).toEqual({ ok: false, reason: "Nobody else is in this room to call." });
  });

  it("refuses a room with three members, saying how many there are", () => {
    const result = checkCallRoom([BOT, "@alice:example.org", "@bob:example.org"], BOT, acl);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toContain("exactly two members");
    expect(result.reason).toContain("this room has 3");
  });

  it("refuses even when every other member is allowed", () => {
    const everyone = new AccessList(["*:example.org"]);
    const result = checkCallRoom([BOT, "@alice:example.org", "@bob:example.org", "@carol:example.org"], BOT, everyone);
    expect(result).toMatchObject({ ok: false, reason: expect.stringContaining("this room has 4") as unknown });
  });

  it("refuses when the other member is not allowed", () => {
    expect(checkCallRoom([BOT, "@mallory:example.org"], BOT, acl)).toEqual({
      ok: false,
      reason: "The other member of this room is not allowed to use this bot.",
    });
  });

  it("a server entry lets any user of that server be the callee", () => {
    expect(checkCallRoom([BOT, "@dave:example.org"], BOT, new AccessList(["*:example.org"]))).toEqual({
      ok: true,
      callee: "@dave:example.org",
    });
  });
});
