/**
 * Input anyone in a room with the bot can send costs at most one warn line a minute per room and kind: malformed
 * events (the real Bot on a real, unstarted matrix-bot-sdk client), calls from users who are not allowed and
 * malformed invites (InviteAdmission), and call events from someone other than the call's party (the real
 * CallManager with a real call on the demo camera).
 */
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { InviteAdmission } from "../../src/call/invite-admission.ts";
import { CallManager } from "../../src/call/manager.ts";
import { AccessList } from "../../src/admission/access.ts";
import { Bot } from "../../src/matrix/bot.ts";
import { loadBotSdk } from "../../src/matrix/sdk.ts";
import { CameraHub } from "../../src/media/camera-hub.ts";
import { TurnCredentials } from "../../src/rtc/turn.ts";
import { waitFor } from "../harness/wait.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

const ROOM = "!dm:example.org";
const OTHER_ROOM = "!other:example.org";
const BOT = "@bot:example.org";
const ALICE = "@alice:example.org";
const MALLORY = "@mallory:example.org";

interface Line {
  level: number;
  msg: string;
  room?: string;
}
const lines: Line[] = [];
const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
const warned = (msg: string): Line[] => lines.filter((l) => l.level === 40 && l.msg === msg);

const camera = testCamera({ url: "demo://clock", maxWidth: 160, maxHeight: 120, maxFps: 5 });
const hub = new CameraHub([camera], { full: ffmpegPath() }, log, 0);
const turn = new TurnCredentials(() => Promise.resolve({}), log);
const calls = new CallManager(hub, turn, () => Promise.resolve(), { inviteLifetimeMs: 60_000, iceDisconnectedTimeoutMs: 30_000 }, log);
const ctx = { botUserId: BOT, senderAllowed: true, checkRoom: () => Promise.resolve(undefined) };

afterAll(async () => {
  await calls.hangupAll();
  await hub.stopAll();
});

describe("once a minute per room and kind", () => {
  it("malformed events reaching the bot", () => {
    // Never started: it only carries the events emitted here.
    const client = new (loadBotSdk().sdk.MatrixClient)("http://127.0.0.1:9", "not-a-token");
    new Bot(client, BOT, new AccessList([ALICE]), [camera], calls, log).attach();
    for (let i = 0; i < 50; i++) client.emit("room.event", ROOM, { type: 5, sender: MALLORY });
    client.emit("room.event", OTHER_ROOM, { event_id: "$x" });
    expect(warned("malformed event ignored").map((l) => l.room)).toEqual([ROOM, OTHER_ROOM]);
  });

  it("calls from a user who is not allowed, and malformed invites", () => {
    const admission = new InviteAdmission(
      {
        partyId: "BOT",
        callInRoom: () => undefined,
        hasCall: () => false,
        abandon: () => undefined,
        answer: () => undefined,
        send: () => Promise.resolve(),
        replay: () => undefined,
      },
      turn,
      log,
    );
    const invite = (i: number): Record<string, unknown> => ({
      call_id: `c${i}`,
      version: "1",
      party_id: "M",
      lifetime: 60_000,
      offer: { type: "offer", sdp: "v=0\r\n" },
    });
    for (let i = 0; i < 50; i++) {
      admission.onInvite(
        { roomId: ROOM, sender: MALLORY, type: "m.call.invite", content: invite(i), ageMs: 0 },
        { ...ctx, senderAllowed: false },
      );
      admission.onInvite(
        { roomId: ROOM, sender: MALLORY, type: "m.call.invite", content: { call_id: `c${i}` }, ageMs: 0 },
        { ...ctx, senderAllowed: false },
      );
    }
    admission.onInvite(
      { roomId: OTHER_ROOM, sender: MALLORY, type: "m.call.invite", content: invite(99), ageMs: 0 },
      { ...ctx, senderAllowed: false },
    );
    expect(warned("call from a user who is not allowed: ignored").map((l) => l.room)).toEqual([ROOM, OTHER_ROOM]);
    expect(warned("malformed m.call.invite ignored").map((l) => l.room)).toEqual([ROOM]);
  });

  it("call events from someone other than the call's party", async () => {
    const session = await calls.placeCall(ROOM, ALICE, "cam");
    for (let i = 0; i < 50; i++) {
      calls.handleEvent(
        {
          roomId: ROOM,
          sender: MALLORY,
          type: "m.call.hangup",
          content: { call_id: session.callId, version: "1", party_id: "M" },
          ageMs: 0,
        },
        ctx,
      );
    }
    expect(warned("call event from someone other than the call's other party ignored")).toHaveLength(1);
    session.hangup();
    await waitFor("the call to end", () => calls.activeCount() === 0);
  });
});
