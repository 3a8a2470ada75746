/**
 * RtcIncoming (src/matrix/rtc-incoming.ts), the routing of a call a user starts: a stranger is ignored without a word
 * and without asking admission; admission's refusal and a join that fails are said in the room in their own words; a
 * second membership while the first is being answered starts nothing. Small fakes stand for admission and RtcCalls.
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { AccessList } from "../../src/admission/access.ts";
import type { CallRequest } from "../../src/admission/admission.ts";
import { refuse, type Admission } from "../../src/admission/refusal.ts";
import { RtcIncoming } from "../../src/matrix/rtc-incoming.ts";
import type { IncomingCall } from "../../src/matrixrtc/incoming-membership.ts";
import type { RtcPlaced } from "../../src/matrixrtc/rtc-calls.ts";
import { CALL_MEMBER_TYPE, membershipStateKey } from "../../src/matrixrtc/rtc-wire.ts";
import { waitFor } from "../harness/wait.ts";

const BOT = "@cam:hs";
const ALICE = "@alice:hs";
const MALLORY = "@mallory:evil";
const ROOM = "!dm:hs";

function membership(sender: string, device = "PHONE"): Record<string, unknown> {
  return {
    type: CALL_MEMBER_TYPE,
    sender,
    event_id: `$${device}`,
    origin_server_ts: Date.now(),
    state_key: membershipStateKey(sender, device),
    content: { application: "m.call", call_id: "", scope: "m.room", device_id: device, expires: 14_400_000 },
  };
}

function rig(decide: (req: CallRequest) => Admission, join: () => Promise<RtcPlaced>) {
  const notices: string[] = [];
  const asked: CallRequest[] = [];
  const joins: { roomId: string; call: IncomingCall; camera: string }[] = [];
  const incoming = new RtcIncoming({
    notice: (_roomId, text) => {
      notices.push(text);
      return Promise.resolve();
    },
    botUserId: BOT,
    access: new AccessList([ALICE]),
    rtc: {
      join: (roomId, call, camera) => {
        joins.push({ roomId, call, camera });
        return join();
      },
    },
    admission: {
      decide: (req) => {
        asked.push(req);
        return Promise.resolve(decide(req));
      },
    },
    defaultCamera: () => "garden",
    log: pino({ level: "silent" }),
  });
  return { incoming, notices, asked, joins };
}

const never = (): Promise<RtcPlaced> => new Promise(() => undefined);

describe("RtcIncoming", () => {
  it("alice's membership: admission asked as a MatrixRTC call to the bot with the default camera, then the join", async () => {
    const r = rig(() => ({ ok: true, callee: ALICE }), never);
    r.incoming.roomEvent(ROOM, membership(ALICE));
    await waitFor("the join", () => r.joins[0]);
    expect(r.asked).toEqual([{ kind: "rtc-inbound", roomId: ROOM, user: ALICE, camera: "garden" }]);
    expect(r.joins[0]?.call).toMatchObject({ caller: ALICE, deviceId: "PHONE" });
    expect(r.joins[0]?.camera).toBe("garden");
  });

  it("a second membership while the first is answered (another device) starts nothing more", async () => {
    const r = rig(() => ({ ok: true, callee: ALICE }), never);
    r.incoming.roomEvent(ROOM, membership(ALICE));
    r.incoming.roomEvent(ROOM, membership(ALICE, "LAPTOP"));
    await waitFor("the join", () => r.joins[0]);
    expect(r.joins).toHaveLength(1);
    expect(r.asked).toHaveLength(1);
  });

  it("a stranger's membership, and the bot's own: no admission, no word", () => {
    const r = rig(() => ({ ok: true, callee: MALLORY }), never);
    r.incoming.roomEvent(ROOM, membership(MALLORY));
    r.incoming.roomEvent(ROOM, membership(BOT, "CAMDEV"));
    expect(r.asked).toEqual([]);
    expect(r.notices).toEqual([]);
  });

  it("admission's refusal is said in the room, and nothing is joined", async () => {
    const r = rig(() => refuse("room_busy", "A call is already in progress here. Type !hangup to end it first."), never);
    r.incoming.roomEvent(ROOM, membership(ALICE));
    await waitFor("the refusal", () => r.notices[0]);
    expect(r.notices).toEqual(["A call is already in progress here. Type !hangup to end it first."]);
    expect(r.joins).toEqual([]);
  });

  it("a join that fails is said in its own words; the room is free for the next call", async () => {
    const r = rig(
      () => ({ ok: true, callee: ALICE }),
      () => Promise.resolve({ ok: false, text: "MatrixRTC unavailable: @livekit/rtc-node is not installed." }),
    );
    r.incoming.roomEvent(ROOM, membership(ALICE));
    await waitFor("the sentence", () => r.notices[0]);
    expect(r.notices).toEqual(["MatrixRTC unavailable: @livekit/rtc-node is not installed."]);
    r.incoming.roomEvent(ROOM, membership(ALICE, "LAPTOP"));
    await waitFor("the second attempt", () => r.joins[1]);
  });
});
