/**
 * Admission of calls placed to the bot (InviteAdmission), with a fake call manager: who is answered, who is ignored
 * or declined, glare against the bot's own call, and the caller's events held while the room is checked.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { RoomCall } from "../../src/call/glare.ts";
import { refuse as refusal, type Refusal } from "../../src/admission/refusal.ts";
import { InviteAdmission, type AdmissionHost, type EventContext } from "../../src/call/invite-admission.ts";
import type { RoomCallEvent } from "../../src/call/router.ts";
import { CallState } from "../../src/call/state.ts";
import type { InviteIn } from "../../src/call/wire.ts";
import { TurnCredentials } from "../../src/rtc/turn.ts";
import { validateCallEvent } from "../harness/spec-validator.ts";
import { waitFor } from "../harness/wait.ts";

const ROOM = "!dm:example.org";
const BOT = "@bot:example.org";
const ALICE = "@alice:example.org";
const OUR_PARTY = "botparty123";
const log = pino({ level: "silent" });

interface Fake {
  host: AdmissionHost;
  sent: { type: string; content: Record<string, unknown> }[];
  answered: InviteIn[];
  abandoned: string[];
  replayed: RoomCallEvent[];
  existing: RoomCall | undefined;
  failAnswer: boolean;
}

function fake(existing?: RoomCall): Fake {
  const f: Fake = { sent: [], answered: [], abandoned: [], replayed: [], existing, failAnswer: false, host: undefined as never };
  f.host = {
    partyId: OUR_PARTY,
    callInRoom: () => f.existing,
    hasCall: (callId) => f.answered.some((i) => i.call_id === callId),
    abandon: (callId) => {
      f.abandoned.push(callId);
      f.existing = undefined;
    },
    answer: (_event, invite) => {
      if (f.failAnswer) throw new Error("no camera is configured");
      f.answered.push(invite);
    },
    send: (_room, type, content) => {
      f.sent.push({ type, content });
      return Promise.resolve();
    },
    replay: (event) => {
      f.replayed.push(event);
    },
  };
  return f;
}

function admission(f: Fake): InviteAdmission {
  return new InviteAdmission(f.host, new TurnCredentials(() => Promise.resolve({}), log), log);
}

function invite(callId: string, over: Record<string, unknown> = {}): RoomCallEvent {
  return {
    roomId: ROOM,
    sender: ALICE,
    type: "m.call.invite",
    content: {
      call_id: callId,
      version: "1",
      party_id: "ALICEDEVICE",
      lifetime: 60_000,
      offer: { type: "offer", sdp: "v=0\r\n" },
      ...over,
    },
    ageMs: 100,
  };
}

function ctx(over: Partial<EventContext> = {}): EventContext & { checks: number } {
  const c = {
    botUserId: BOT,
    senderAllowed: true,
    checks: 0,
    checkRoom: (): Promise<Refusal | undefined> => Promise.resolve(undefined),
    ...over,
  };
  const check = c.checkRoom;
  c.checkRoom = () => {
    c.checks++;
    return check();
  };
  return c;
}

/** Lets the admission's awaits run (room check and TURN, both immediate here). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

describe("InviteAdmission", () => {
  it("answers an allowed user's invite in a room that passes the check", async () => {
    const f = fake();
    const c = ctx();
    admission(f).onInvite(invite("1700000000000aaa"), c);
    await settle();
    expect(f.answered.map((i) => i.call_id)).toEqual(["1700000000000aaa"]);
    expect(c.checks).toBe(1);
    expect(f.sent).toEqual([]);
  });

  it("answers an invite without invitee, and ignores one addressed to someone else", async () => {
    const f = fake();
    const a = admission(f);
    a.onInvite(invite("a1", { invitee: BOT }), ctx());
    a.onInvite(invite("a2", { invitee: "@carol:example.org" }), ctx());
    await settle();
    expect(f.answered.map((i) => i.call_id)).toEqual(["a1"]);
  });

  it("ignores a stranger's invite without checking the room or sending anything", async () => {
    const f = fake();
    const c = ctx({ senderAllowed: false });
    admission(f).onInvite(invite("s1"), c);
    await settle();
    expect(c.checks).toBe(0);
    expect(f.answered).toEqual([]);
    expect(f.sent).toEqual([]);
  });

  it("ignores an invite older than its lifetime", async () => {
    const f = fake();
    admission(f).onInvite({ ...invite("old", { lifetime: 5000 }), ageMs: 5000 }, ctx());
    admission(f).onInvite({ ...invite("young", { lifetime: 5000 }), ageMs: 4999 }, ctx());
    await settle();
    expect(f.answered.map((i) => i.call_id)).toEqual(["young"]);
  });

  it("believes an invite's lifetime up to 120 s only (a huge lifetime does not get an old invite answered)", async () => {
    const f = fake();
    const a = admission(f);
    const DAY = 86_400_000;
    // As after downtime: sync resumes from the stored token and hands over a ten-minute-old invite.
    a.onInvite({ ...invite("stale", { lifetime: DAY }), ageMs: 600_000 }, ctx());
    a.onInvite({ ...invite("edge", { lifetime: DAY }), ageMs: 120_000 }, ctx());
    a.onInvite({ ...invite("fresh", { lifetime: DAY }), ageMs: 119_999 }, ctx());
    await settle();
    expect(f.answered.map((i) => i.call_id)).toEqual(["fresh"]);
  });

  it("ignores malformed invites", async () => {
    const f = fake();
    const a = admission(f);
    a.onInvite(invite("m1", { offer: { type: "answer", sdp: "x" } }), ctx());
    a.onInvite(invite("m2", { lifetime: "soon" }), ctx());
    a.onInvite({ ...invite("m3"), content: "nope" }, ctx());
    await settle();
    expect(f.answered).toEqual([]);
    expect(f.sent).toEqual([]);
  });

  it("declines when the room fails the check: m.call.reject for version 1, a hangup for version 0, both spec-valid", async () => {
    const f = fake();
    const refuse = ctx({ checkRoom: () => Promise.resolve(refusal("not_direct", "I can't answer calls here: three members")) });
    admission(f).onInvite(invite("r1"), refuse);
    admission(f).onInvite(invite("r0", { version: 0 }), refuse);
    await settle();
    expect(f.answered).toEqual([]);
    expect(f.sent.map((e) => [e.type, e.content["call_id"]])).toEqual([
      ["m.call.reject", "r1"],
      ["m.call.hangup", "r0"],
    ]);
    for (const e of f.sent) {
      expect(validateCallEvent(e.type, e.content).errors).toEqual([]);
      expect(e.content).toMatchObject({ version: "1", party_id: OUR_PARTY });
    }
  });

  it("declines when answering fails (e.g. no camera)", async () => {
    const f = fake();
    f.failAnswer = true;
    admission(f).onInvite(invite("f1"), ctx());
    await settle();
    expect(f.sent.map((e) => e.type)).toEqual(["m.call.reject"]);
  });

  it("a second copy of an invite being admitted is ignored", async () => {
    const f = fake();
    const a = admission(f);
    const c = ctx();
    a.onInvite(invite("dup"), c);
    a.onInvite(invite("dup"), c);
    await settle();
    a.onInvite(invite("dup"), c);
    await settle();
    expect(f.answered).toHaveLength(1);
    expect(c.checks).toBe(1);
  });

  describe("glare with the bot's own call in the room", () => {
    it("ours still being prepared: abandoned, theirs answered", async () => {
      const f = fake({ direction: "outgoing", callId: "1700000000000ours", state: CallState.Preparing });
      admission(f).onInvite(invite("1700000000999theirs"), ctx());
      await settle();
      expect(f.abandoned).toEqual(["1700000000000ours"]);
      expect(f.answered.map((i) => i.call_id)).toEqual(["1700000000999theirs"]);
    });

    it("ours ringing with the greater call ID: abandoned, theirs answered", async () => {
      const f = fake({ direction: "outgoing", callId: "1700000000500ours", state: CallState.Ringing });
      admission(f).onInvite(invite("1700000000400theirs"), ctx());
      await settle();
      expect(f.abandoned).toEqual(["1700000000500ours"]);
      expect(f.answered.map((i) => i.call_id)).toEqual(["1700000000400theirs"]);
    });

    it("ours ringing with the lesser call ID: theirs ignored, nothing sent", async () => {
      const f = fake({ direction: "outgoing", callId: "1700000000400ours", state: CallState.Ringing });
      admission(f).onInvite(invite("1700000000500theirs"), ctx());
      await settle();
      expect(f.abandoned).toEqual([]);
      expect(f.answered).toEqual([]);
      expect(f.sent).toEqual([]);
    });

    it("a call already answered in the room: theirs declined as busy", async () => {
      const f = fake({ direction: "outgoing", callId: "1700000000400ours", state: CallState.Connected });
      admission(f).onInvite(invite("1700000000000theirs"), ctx());
      await settle();
      expect(f.abandoned).toEqual([]);
      expect(f.sent.map((e) => e.type)).toEqual(["m.call.reject"]);
    });
  });

  describe("the caller's events while the room is being checked", () => {
    function slowRoomCheck(): { c: EventContext; pass: () => void } {
      let pass: () => void = () => undefined;
      const pending = new Promise<undefined>((resolve) => {
        pass = () => {
          resolve(undefined);
        };
      });
      return {
        c: ctx({ checkRoom: () => pending }),
        pass: () => {
          pass();
        },
      };
    }
    const candidates = (callId: string, sender = ALICE): RoomCallEvent => ({
      roomId: ROOM,
      sender,
      type: "m.call.candidates",
      content: { call_id: callId, version: "1", party_id: "ALICEDEVICE", candidates: [] },
      ageMs: 0,
    });

    it("are held (the caller's only) and replayed once the call is answered", async () => {
      const f = fake();
      const a = admission(f);
      const { c, pass } = slowRoomCheck();
      a.onInvite(invite("h1"), c);
      expect(a.hold("h1", candidates("h1"))).toBe(true);
      expect(a.hold("h1", candidates("h1", "@mallory:example.org"))).toBe(true);
      expect(a.hold("other", candidates("other"))).toBe(false);
      pass();
      await waitFor("the answer", () => f.answered.length === 1);
      await settle();
      expect(f.replayed).toEqual([candidates("h1")]);
      expect(a.hold("h1", candidates("h1"))).toBe(false);
    });

    it("the caller's events for the call ID in another room are not held: a hangup there does not cancel the call", async () => {
      const f = fake();
      const a = admission(f);
      const { c, pass } = slowRoomCheck();
      a.onInvite(invite("h3"), c);
      const elsewhere = { ...candidates("h3"), roomId: "!other:example.org" };
      a.hold("h3", {
        ...elsewhere,
        type: "m.call.hangup",
        content: { call_id: "h3", version: "1", party_id: "ALICEDEVICE", reason: "user_hangup" },
      });
      a.hold("h3", elsewhere);
      pass();
      await waitFor("the answer", () => f.answered.length === 1);
      await settle();
      expect(f.replayed).toEqual([]);
    });

    it("a hangup among them means the caller gave up: nothing is answered", async () => {
      const f = fake();
      const a = admission(f);
      const { c, pass } = slowRoomCheck();
      a.onInvite(invite("h2"), c);
      a.hold("h2", {
        ...candidates("h2"),
        type: "m.call.hangup",
        content: { call_id: "h2", version: "1", party_id: "ALICEDEVICE", reason: "user_hangup" },
      });
      pass();
      await settle();
      expect(f.answered).toEqual([]);
      expect(f.sent).toEqual([]);
    });
  });
});
