/** L2: a camera's own allowedUsers (CameraAccess), and what the config loader checks about it. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { AccessList, CameraAccess } from "../../src/admission/access.ts";

const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const CAROL = "@carol:family.example.org";

describe("CameraAccess", () => {
  const global = new AccessList([ALICE, BOB, "*:family.example.org"]);
  const cameras = [
    { name: "door" },
    { name: "office", allowedUsers: [ALICE] },
    { name: "garden", allowedUsers: ["*:family.example.org", BOB] },
  ];
  const access = new CameraAccess(global, cameras);

  it("a camera without allowedUsers is open to everyone the global list allows, and only to them", () => {
    for (const user of [ALICE, BOB, CAROL]) expect(access.allows(user, "door")).toBe(true);
    expect(access.allows("@mallory:example.org", "door")).toBe(false);
  });

  it("a camera's list narrows the global one, with the same matching rules", () => {
    expect(access.allows(ALICE, "office")).toBe(true);
    expect(access.allows(BOB, "office")).toBe(false);
    expect(access.allows(CAROL, "garden")).toBe(true);
    expect(access.allows(BOB, "garden")).toBe(true);
    expect(access.allows(ALICE, "garden")).toBe(false);
    // Not in the global list: nothing a camera's list says lets them in.
    expect(new CameraAccess(new AccessList([ALICE]), [{ name: "x", allowedUsers: [BOB] }]).allows(BOB, "x")).toBe(false);
  });

  it("camerasFor lists a user's cameras in their configured order", () => {
    expect(access.camerasFor(ALICE, cameras).map((c) => c.name)).toEqual(["door", "office"]);
    expect(access.camerasFor(BOB, cameras).map((c) => c.name)).toEqual(["door", "garden"]);
    expect(access.camerasFor("@mallory:example.org", cameras)).toEqual([]);
  });
});

describe("cameras[].allowedUsers in the config", () => {
  const base = (cams: Record<string, unknown>[]): Record<string, unknown> => ({
    homeserver: { url: "https://matrix.example.org", accessToken: "syt_token" },
    allowedUsers: [ALICE, BOB],
    cameras: cams,
  });
  const problems = (input: unknown): string[] => {
    try {
      parseConfig(input, { env: {} });
    } catch (err: unknown) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
      throw err;
    }
    return [];
  };

  it("is kept, and absent means undefined", () => {
    const config = parseConfig(
      base([
        { name: "a", url: "rtsp://h/a", allowedUsers: [ALICE, "*:family.example.org"] },
        { name: "b", url: "rtsp://h/b" },
      ]),
      { env: {} },
    );
    expect(config.cameras.map((c) => c.allowedUsers)).toEqual([[ALICE, "*:family.example.org"], undefined]);
  });

  it("entries are checked like the global list's; an empty list is an error", () => {
    expect(problems(base([{ name: "a", url: "rtsp://h/a", allowedUsers: ["alice"] }]))).toEqual([
      "cameras[0].allowedUsers[0]: must be @user:server or *:server",
    ]);
    expect(problems(base([{ name: "a", url: "rtsp://h/a", allowedUsers: [] }]))).toEqual([
      "cameras[0].allowedUsers: list at least one user, or leave allowedUsers out",
    ]);
  });

  it("a user the global list does not allow is a mistake", () => {
    expect(problems(base([{ name: "a", url: "rtsp://h/a", allowedUsers: ["@carol:example.org"] }]))).toEqual([
      "cameras[0].allowedUsers[0]: is not in allowedUsers (a camera's list narrows the global one)",
    ]);
  });

  it("a doorbell's ring.users must be allowed on its own camera, not on the others", () => {
    const cams = [
      { name: "door", url: "rtsp://h/door", allowedUsers: [ALICE], ring: { users: [ALICE, BOB] } },
      { name: "office", url: "rtsp://h/office", allowedUsers: [ALICE] },
    ];
    expect(problems(base(cams))).toEqual([
      "cameras[0].ring.users[1]: is not in this camera's allowedUsers (a ring is a call from this camera)",
    ]);
    cams[0] = { name: "door", url: "rtsp://h/door", allowedUsers: [ALICE, BOB], ring: { users: [ALICE, BOB] } };
    expect(problems(base(cams))).toEqual([]);
  });
});
