/**
 * Call admission (src/admission/admission.ts): one decision for `!call`, calls placed to the bot and doorbell rings,
 * as a table of cases, with the user-facing texts and the order of the rules. Small fakes for the room's members and
 * the calls in progress; a rule added to the list (quiet hours) shows where a new rule lives.
 */
import { describe, expect, it } from "vitest";
import { AccessList } from "../../src/admission/access.ts";
import {
  admissionDeps,
  callAdmission,
  CallAdmission,
  RULES,
  type AdmissionParts,
  type CallKind,
  type Rule,
} from "../../src/admission/admission.ts";
import { UserCallRate } from "../../src/admission/call-rate.ts";
import { refuse, type CallRegistry } from "../../src/admission/refusal.ts";

const BOT = "@camera:example.org";
const ALICE = "@alice:example.org";
const BOB = "@bob:example.org";
const MALLORY = "@mallory:evil.example";
const DM = "!dm:example.org";

interface World {
  members?: string[];
  /** A call is in progress in DM. */
  busy?: boolean;
  full?: boolean;
  /** Calls ALICE already started this minute (the limit is 2). */
  started?: number;
}

function parts(world: World): { deps: AdmissionParts; lookups: () => number } {
  let lookups = 0;
  const calls: CallRegistry = {
    callInRoom: (roomId) => (world.busy === true && roomId === DM ? {} : undefined),
    atCapacity: () => world.full === true,
    maxConcurrent: 8,
  };
  const rate = new UserCallRate(2, () => 1_000_000);
  for (let i = 0; i < (world.started ?? 0); i++) rate.take(ALICE);
  return {
    deps: {
      botUserId: BOT,
      access: new AccessList([ALICE, BOB]),
      cameras: [{ name: "garden" }, { name: "door", allowedUsers: [BOB] }],
      members: () => {
        lookups++;
        return Promise.resolve(world.members ?? [BOT, ALICE]);
      },
      calls,
      rate,
    },
    lookups: () => lookups,
  };
}

const THIRD =
  "I only place calls in a direct chat with exactly two members; this room has 3. Start a direct chat with me and call from there.";
const CAPACITY = "I already have 8 calls in progress, the most I take at once. Try again when one has ended.";
const RATE = "You have started 2 calls in the last minute, the most I allow. Try again in 60 s.";
const BUSY = "A call is already in progress here. Type !hangup to end it first.";

// [what, kind, user, camera, world, the reason (or "ok"), the text]
const cases: [string, CallKind, string, string | undefined, World, string, string?][] = [
  ["!call in a DM", "command", ALICE, "garden", {}, "ok"],
  ["!call of a camera that does not exist", "command", ALICE, "attic", {}, "unknown_camera", 'Unknown camera "attic". Cameras: garden'],
  [
    "!call of a camera whose allowedUsers leave the user out",
    "command",
    ALICE,
    "door",
    {},
    "unknown_camera",
    'Unknown camera "door". Cameras: garden',
  ],
  [
    "!call: a camera refusal comes before the room's (no request made)",
    "command",
    ALICE,
    "door",
    { members: [BOT, ALICE, BOB] },
    "unknown_camera",
    'Unknown camera "door". Cameras: garden',
  ],
  [
    "!call with a third member in the room",
    "command",
    ALICE,
    "garden",
    { members: [BOT, ALICE, BOB] },
    "not_direct",
    `I can't call here: ${THIRD}`,
  ],
  [
    "!call where the bot is not joined",
    "command",
    ALICE,
    "garden",
    { members: [ALICE] },
    "bot_not_joined",
    "I can't call here: I am not joined to this room.",
  ],
  [
    "!call where the bot is alone",
    "command",
    ALICE,
    "garden",
    { members: [BOT] },
    "nobody_else",
    "I can't call here: Nobody else is in this room to call.",
  ],
  [
    "!call with a stranger as the other member",
    "command",
    ALICE,
    "garden",
    { members: [BOT, MALLORY] },
    "peer_not_allowed",
    "I can't call here: The other member of this room is not allowed to use this bot.",
  ],
  [
    "!call from someone who is not the other member",
    "command",
    BOB,
    "garden",
    {},
    "other_member",
    "I can't call here: the call would go to someone other than you.",
  ],
  ["!call in a room with a call", "command", ALICE, "garden", { busy: true }, "room_busy", BUSY],
  ["!call: busy comes before capacity", "command", ALICE, "garden", { busy: true, full: true }, "room_busy", BUSY],
  ["!call at capacity", "command", ALICE, "garden", { full: true }, "capacity", CAPACITY],
  ["!call: capacity comes before the user's rate", "command", ALICE, "garden", { full: true, started: 2 }, "capacity", CAPACITY],
  ["!call over the user's rate", "command", ALICE, "garden", { started: 2 }, "user_rate", RATE],
  ["a call to the bot in a DM", "inbound", ALICE, "garden", {}, "ok"],
  [
    "a call to the bot with a third member",
    "inbound",
    ALICE,
    "garden",
    { members: [BOT, ALICE, BOB] },
    "not_direct",
    `I can't answer calls here: ${THIRD}`,
  ],
  [
    "a call to the bot from someone else than the other member",
    "inbound",
    BOB,
    "garden",
    {},
    "other_member",
    "I can't answer calls here: the caller is not the other member of this room.",
  ],
  [
    "a call to the bot showing a camera the caller may not use",
    "inbound",
    ALICE,
    "door",
    {},
    "camera_not_allowed",
    "I can't answer calls here: a call to me shows a camera you may not use. Type !cameras for yours and !call <camera>.",
  ],
  [
    "a call to the bot: the room's refusal comes before the camera's",
    "inbound",
    ALICE,
    "door",
    { members: [BOT, ALICE, BOB] },
    "not_direct",
    `I can't answer calls here: ${THIRD}`,
  ],
  ["a call to the bot meeting the bot's own call is glare's, not busy", "inbound", ALICE, "garden", { busy: true }, "ok"],
  ["a call to the bot at capacity", "inbound", ALICE, "garden", { full: true }, "capacity", CAPACITY],
  ["a call to the bot over the caller's rate", "inbound", ALICE, "garden", { started: 2 }, "user_rate", RATE],
  ["a MatrixRTC call the caller starts in the DM", "rtc-inbound", ALICE, "garden", {}, "ok"],
  [
    "a MatrixRTC call started in a room with a third member",
    "rtc-inbound",
    ALICE,
    "garden",
    { members: [BOT, ALICE, BOB] },
    "not_direct",
    `I can't answer calls here: ${THIRD}`,
  ],
  [
    "a MatrixRTC call started by someone else than the other member",
    "rtc-inbound",
    BOB,
    "garden",
    {},
    "other_member",
    "I can't answer calls here: the caller is not the other member of this room.",
  ],
  [
    "a MatrixRTC call to the bot showing a camera the caller may not use",
    "rtc-inbound",
    ALICE,
    "door",
    {},
    "camera_not_allowed",
    "I can't answer calls here: a call to me shows a camera you may not use. Type !cameras for yours and !call <camera>.",
  ],
  // No glare rule settles a MatrixRTC call against a legacy call in the room: busy.
  ["a MatrixRTC call started where a call is in progress", "rtc-inbound", ALICE, "garden", { busy: true }, "room_busy", BUSY],
  ["a MatrixRTC call started at capacity", "rtc-inbound", ALICE, "garden", { full: true }, "capacity", CAPACITY],
  ["a MatrixRTC call started over the caller's rate", "rtc-inbound", ALICE, "garden", { started: 2 }, "user_rate", RATE],
  ["a ring in the DM", "ring", ALICE, "garden", {}, "ok"],
  ["a ring is not counted in the user's rate", "ring", ALICE, "garden", { started: 2 }, "ok"],
  ["a ring where a call is in progress", "ring", ALICE, "garden", { busy: true }, "room_busy", BUSY],
  ["a ring at capacity", "ring", ALICE, "garden", { full: true }, "capacity", CAPACITY],
  [
    "a ring in a room that gained a third member",
    "ring",
    ALICE,
    "garden",
    { members: [BOT, ALICE, BOB] },
    "not_direct",
    `not rung: ${THIRD}`,
  ],
];

describe("call admission", () => {
  it.each(cases)("%s", async (_what, kind, user, camera, world, reason, text) => {
    const { deps } = parts(world);
    const decision = await callAdmission(deps).decide({ kind, roomId: DM, user, camera });
    if (reason === "ok") expect(decision).toEqual({ ok: true, callee: user });
    else expect(decision).toEqual({ ok: false, reason, text });
  });

  it("asks for the room's members once per decision, and not at all for a !call of a camera the user may not use", async () => {
    const ok = parts({});
    await callAdmission(ok.deps).decide({ kind: "command", roomId: DM, user: ALICE, camera: "garden" });
    expect(ok.lookups()).toBe(1);
    const refused = parts({});
    await callAdmission(refused.deps).decide({ kind: "command", roomId: DM, user: ALICE, camera: "door" });
    expect(refused.lookups()).toBe(0);
  });

  it("counts only the calls it allows in the user's rate", async () => {
    const { deps } = parts({ full: true });
    const admission = callAdmission(deps);
    for (let i = 0; i < 3; i++)
      expect(await admission.decide({ kind: "command", roomId: DM, user: ALICE, camera: "garden" })).toMatchObject({ reason: "capacity" });
    const open = callAdmission({ ...deps, calls: { callInRoom: () => undefined, atCapacity: () => false, maxConcurrent: 8 } });
    expect(await open.decide({ kind: "command", roomId: DM, user: ALICE, camera: "garden" })).toMatchObject({ ok: true });
  });

  describe("a new rule has one home: an entry in the rule list", () => {
    let hour = 12;
    const quietHours: Rule<"quiet_hours"> = {
      name: "no calls at night",
      kinds: ["command", "inbound"],
      check: () => (hour >= 22 || hour < 7 ? refuse("quiet_hours", "I take no calls between 22:00 and 07:00.") : undefined),
    };
    // After the room's rules (a wrong room is said first), before the counting ones (a refused call costs no rate).
    const rules = [...RULES.slice(0, 4), quietHours, ...RULES.slice(4)];

    it.each([
      [12, "command", {}, "ok"],
      [23, "command", {}, "quiet_hours"],
      [3, "inbound", {}, "quiet_hours"],
      [23, "ring", {}, "ok"],
      [23, "command", { members: [BOT, ALICE, BOB] }, "not_direct"],
      [23, "command", { full: true }, "quiet_hours"],
    ] as [number, CallKind, World, string][])("at %i h, %s, %o: %s", async (at, kind, world, reason) => {
      hour = at;
      const admission = new CallAdmission<"quiet_hours">(admissionDeps(parts(world).deps), rules);
      const decision = await admission.decide({ kind, roomId: DM, user: ALICE, camera: "garden" });
      expect(decision.ok ? "ok" : decision.reason).toBe(reason);
    });
  });
});
