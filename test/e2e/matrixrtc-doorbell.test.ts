/**
 * Doorbell rings over MatrixRTC through the whole bot (startApp), pressed by the webhook: each user is rung the way
 * they chose (matrixRtc.ringViaUsers), and the first answer on any path withdraws every other ring of the round.
 * - carol (matrixrtc, no direct chat): the bot creates an unencrypted one, rings there with a MatrixRTC call (the
 *   membership and ring checked by the strict receiver schemas), carol joins (call.member, rtc-node subscriber) and
 *   sees the camera; on the next press she declines it (rtc.decline): the ring ends, declined, no missed-call line;
 * - alice (matrixrtc) and bob (legacy) rung together: bob's legacy answer empties the bot's MatrixRTC membership in
 *   alice's chat; alice joining first hangs up bob's invite; each time the other is told "Answered by <name>";
 * - dave (matrixrtc) and erin (both) in encrypted direct chats they made: dave gets one line and no call, erin the
 *   line and the legacy invite.
 * Real Synapse, livekit-server, the /sfu/get test service (test/harness/rtc-rig.ts), a GStreamer RTSP camera,
 * matrix-js-sdk callees.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { ENCRYPTED_ROOM_TEXT } from "../../src/matrixrtc/rtc-calls.ts";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { readFileSync } from "node:fs";
import {
  CALL_MEMBER_TYPE,
  membershipStateKey,
  RTC_DECLINE_TYPE,
  RTC_NOTIFICATION_TYPE,
  RTC_SLOT_STATE_KEY,
  RTC_SLOT_TYPE,
} from "../../src/matrixrtc/rtc-wire.ts";
import type { Callee } from "../harness/callee.ts";
import { reportFigure } from "../harness/figures.ts";
import { liveKitBinary } from "../harness/livekit.ts";
import { LiveKitSubscriber } from "../harness/livekit-subscriber.ts";
import type { Rig } from "../harness/rig.ts";
import { joinAsElementX, leaveAsElementX } from "../harness/rtc-member.ts";
import { startRtcRig } from "../harness/rtc-rig.ts";
import { strictMembershipSchema, strictNotificationSchema } from "../harness/rtc-wire-schema.ts";
import type { SfuTokenService } from "../harness/sfu-token-service.ts";
import { waitFor } from "../harness/wait.ts";

const found = liveKitBinary();
if ("skip" in found) process.stderr.write(`${found.skip}\n`);

const TOKEN = "matrixrtc-doorbell-T0ken-0123456789";
let rtc: RtcNode;
let service: SfuTokenService;
let stopRtc: (() => Promise<void>) | undefined;
let rig: Rig;
let app: App;
let botKey: string;
/** carol's direct chat, made by the bot on the first press. */
let carolDm: string;

async function press(camera: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${String(app.http?.port)}/ring/${camera}`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(res.status).toBe(202);
}

/** The rings (rtc.notification) `user` received in `roomId`, oldest first. */
function rings(user: Callee, roomId: string): { id: string; content: Record<string, unknown> }[] {
  const events = user.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.filter((e) => e.getType() === RTC_NOTIFICATION_TYPE).map((e) => ({ id: e.getId() ?? "", content: e.getContent() }));
}

/** The room where `user` was rung over MatrixRTC (a direct chat the bot created for them). */
function ringRoom(user: Callee): string | undefined {
  return user.client.getRooms().find((r) => rings(user, r.roomId).length > 0)?.roomId;
}

/** The bot's call.member content in `roomId`, read from the homeserver as `name`. */
async function botMembership(name: string, roomId: string): Promise<unknown> {
  const res = await fetch(
    `${rig.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${CALL_MEMBER_TYPE}/${encodeURIComponent(botKey)}`,
    { headers: { authorization: `Bearer ${rig.user(name).accessToken}` } },
  );
  return res.status === 200 ? await res.json() : undefined;
}

const emptied = async (name: string, roomId: string): Promise<boolean> => JSON.stringify(await botMembership(name, roomId)) === "{}";
const live = async (name: string, roomId: string): Promise<boolean> =>
  strictMembershipSchema.safeParse(await botMembership(name, roomId)).success;

/** `name` joins the MatrixRTC call as Element X does: LiveKit first (subscribed), then their call.member. */
async function join(name: string, roomId: string, subscriber: LiveKitSubscriber): Promise<void> {
  await joinAsElementX(rig, name, roomId, service.url, subscriber);
}

async function leave(name: string, roomId: string): Promise<void> {
  await leaveAsElementX(rig, name, roomId);
}

/** No camera of the bot has a call on it (legacy or MatrixRTC). */
const released = (): boolean => Object.values(app.hub.stats()).every((s) => s.leases === 0);

const said = (name: string, roomId: string, prefix: string): string[] =>
  rig
    .callee(name)
    .messages(roomId, rig.bot.userId)
    .filter((m) => m.startsWith(prefix));

/** A direct chat `name` makes with the bot as Element X does: trusted_private_chat, encrypted. */
async function encryptedDm(name: string): Promise<string> {
  const { room_id: roomId } = await rig.callee(name).client.createRoom({
    preset: "trusted_private_chat" as never,
    is_direct: true,
    invite: [rig.bot.userId],
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
  });
  await waitFor("the bot to join the encrypted DM", async () => (await app.matrix.client.getJoinedRooms()).includes(roomId));
  return roomId;
}

describe.skipIf("skip" in found)("doorbell rings over MatrixRTC", () => {
  beforeAll(async () => {
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    rtc = loaded.rtc;
    const started = await startRtcRig("rtc-doorbell", "rtcbellbot", {
      // The round's outcomes are read from the bot's log.
      logLevel: "info",
      users: ["alice", ...["bob", "carol", "dave", "erin"].map((name) => ({ name, dm: false }))],
      config: ({ cameras, users }) => {
        const id = (name: string): string => users[name]?.userId ?? "";
        const bell = (name: string, rung: string[]): Record<string, unknown> => ({
          name,
          url: cameras["cam"]?.url,
          maxWidth: 640,
          maxHeight: 360,
          ring: { users: rung.map(id), debounceMs: 0, snapshot: false },
        });
        return {
          cameras: [bell("gate", ["carol"]), bell("pair", ["alice", "bob"]), bell("locked", ["dave", "erin"])],
          calls: { maxPerUserPerMinute: 100, inviteLifetimeMs: 30_000 },
          http: { listen: "127.0.0.1:0" },
          triggers: { webhook: { token: TOKEN } },
          matrixRtc: {
            ringVia: "legacy",
            ringViaUsers: { [id("alice")]: "matrixrtc", [id("carol")]: "matrixrtc", [id("dave")]: "matrixrtc", [id("erin")]: "both" },
          },
        };
      },
    });
    stopRtc = started.stop;
    rig = started.rig;
    service = started.service;
    app = rig.app;
    botKey = membershipStateKey(rig.bot.userId, app.matrix.deviceId ?? "");
  }, 180_000);

  afterAll(async () => {
    await stopRtc?.();
  });

  it("a matrixrtc user with no direct chat: an unencrypted one is made, the MatrixRTC ring goes there, she joins and sees the camera", async () => {
    const carol = rig.callee("carol");
    const pressed = performance.now();
    await press("gate");
    const roomId = await waitFor("carol's MatrixRTC ring", () => ringRoom(carol), { timeoutMs: 30_000 });
    carolDm = roomId;
    reportFigure("matrixrtc-doorbell-ring", { pressToRingMs: Math.round(performance.now() - pressed) });
    const encryption = await carol.client.getStateEvent(roomId, "m.room.encryption", "").then(
      () => "encrypted",
      (err: unknown) => (err as { errcode?: string }).errcode,
    );
    expect(encryption).toBe("M_NOT_FOUND");
    expect(said("carol", roomId, "Doorbell: gate, ")).toHaveLength(1);
    expect(carol.callEvents(roomId).filter((e) => e.type === "m.call.invite")).toHaveLength(0);
    // The slot was opened with the room, before carol was invited: the ring waited for no slot PUT.
    const history = (await (
      await fetch(`${rig.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=100`, {
        headers: { authorization: `Bearer ${rig.user("carol").accessToken}` },
      })
    ).json()) as { chunk: { type: string; state_key?: string; content: Record<string, unknown> }[] };
    const order = history.chunk.map((e) => {
      const membership = e.content["membership"];
      return `${e.type} ${e.state_key ?? ""} ${typeof membership === "string" ? membership : ""}`.trim();
    });
    const slotAt = order.indexOf(`${RTC_SLOT_TYPE} ${RTC_SLOT_STATE_KEY}`);
    expect(order.filter((e) => e.startsWith(RTC_SLOT_TYPE))).toHaveLength(1);
    expect(slotAt).toBeGreaterThan(0);
    expect(slotAt).toBeLessThan(order.indexOf(`m.room.member ${rig.user("carol").userId} invite`));

    // The ring and the membership it refers to, as a strict receiver (ruma, Element Web) reads them.
    const membership = strictMembershipSchema.parse(await botMembership("carol", roomId));
    expect(membership.foci_preferred[0]).toEqual({ type: "livekit", livekit_service_url: service.url, livekit_alias: roomId });
    const ring = strictNotificationSchema.parse(rings(carol, roomId)[0]?.content);
    expect(ring["m.mentions"].user_ids).toEqual([rig.user("carol").userId]);
    const memberEvent = carol.client
      .getRoom(roomId)
      ?.getLiveTimeline()
      .getEvents()
      .filter((e) => e.getType() === CALL_MEMBER_TYPE && e.getStateKey() === botKey)
      .at(-1)
      ?.getId();
    expect(ring["m.relates_to"].event_id).toBe(memberEvent);
    // The ring lasts as long as the round (calls.inviteLifetimeMs from the press), not the 30 s default by chance.
    expect(ring.lifetime).toBeGreaterThan(20_000);
    expect(ring.lifetime).toBeLessThanOrEqual(30_000);

    const subscriber = new LiveKitSubscriber(rtc);
    try {
      const joined = performance.now();
      await join("carol", roomId, subscriber);
      await waitFor("the camera's video at carol", () => subscriber.video.frames > 0, { timeoutMs: 20_000 });
      reportFigure("matrixrtc-doorbell-join", { joinToFirstFrameMs: Math.round(performance.now() - joined) });
      expect([subscriber.video.width, subscriber.video.height]).toEqual([640, 360]);
      expect(await live("carol", roomId)).toBe(true);
      await leave("carol", roomId);
      await waitFor("the bot's membership emptied when carol left", () => emptied("carol", roomId), { timeoutMs: 15_000 });
    } finally {
      await subscriber.stop();
    }
    await waitFor("the camera released", released, { timeoutMs: 15_000 });
    expect(said("carol", roomId, "Missed call")).toHaveLength(0);
  });

  it("carol declines the MatrixRTC ring: it ends, the bot's membership is emptied, and her outcome is declined (no missed-call line)", async () => {
    const carol = rig.callee("carol");
    const before = rings(carol, carolDm).length;
    const linesBefore = said("carol", carolDm, "Doorbell: gate, ").length;
    const roundsOver = rig.logCount("nobody answered the doorbell");
    await press("gate");
    const ring = await waitFor("carol's second ring", () => rings(carol, carolDm)[before], { timeoutMs: 20_000 });
    // The ring first: in her joined direct chat the press's line goes once the homeserver has the ring.
    await waitFor("the press's doorbell line", () => said("carol", carolDm, "Doorbell: gate, ")[linesBefore], { timeoutMs: 15_000 });
    const timeline = carol.client.getRoom(carolDm)?.getLiveTimeline().getEvents() ?? [];
    const lineAt = timeline.findLastIndex((e) => String(e.getContent()["body"]).startsWith("Doorbell: gate, "));
    expect(lineAt).toBeGreaterThan(timeline.findIndex((e) => e.getId() === ring.id));
    await waitFor("the bot's membership", () => live("carol", carolDm), { timeoutMs: 10_000 });
    await carol.client.sendEvent(
      carolDm,
      RTC_DECLINE_TYPE as never,
      { "m.relates_to": { rel_type: "m.reference", event_id: ring.id } } as never,
    );
    await waitFor("the bot's membership emptied on the decline", () => emptied("carol", carolDm), { timeoutMs: 15_000 });
    await waitFor("the round to end", () => rig.logCount("nobody answered the doorbell") > roundsOver, { timeoutMs: 15_000 });
    const last = readFileSync(rig.logFile, "utf8")
      .split("\n")
      .filter((line) => line.includes('"msg":"nobody answered the doorbell"'))
      .at(-1);
    expect((JSON.parse(last ?? "{}") as { outcomes?: unknown }).outcomes).toEqual({ [rig.user("carol").userId]: "declined" });
    await waitFor("the camera released", released, { timeoutMs: 15_000 });
    expect(said("carol", carolDm, "Missed call")).toHaveLength(0);
  });

  it("alice (matrixrtc) and bob (legacy) rung together: bob answers first, alice's MatrixRTC ring is withdrawn, she is told", async () => {
    const alice = rig.callee("alice");
    const aliceDm = rig.dm("alice");
    const ringsBefore = rings(alice, aliceDm).length;
    const bobRings = rig.callee("bob").nextIncomingCall(30_000);
    await press("pair");
    const bob = await bobRings;
    await waitFor("alice's MatrixRTC ring", () => rings(alice, aliceDm).length > ringsBefore, { timeoutMs: 20_000 });
    await waitFor("the bot's membership in alice's chat", () => live("alice", aliceDm), { timeoutMs: 10_000 });
    expect(alice.callEvents(aliceDm).filter((e) => e.type === "m.call.invite")).toHaveLength(0);

    const answered = performance.now();
    await bob.answer();
    await waitFor("alice's MatrixRTC ring withdrawn (membership emptied)", () => emptied("alice", aliceDm), { timeoutMs: 15_000 });
    reportFigure("matrixrtc-doorbell-withdraw", { legacyAnswerToRtcEmptiedMs: Math.round(performance.now() - answered) });
    expect(await waitFor("alice told who answered", () => said("alice", aliceDm, "Answered by ")[0])).toBe("Answered by bob");
    await bob.waitForFrames(10, 20_000);
    expect(bob.isEnded()).toBe(false);
    expect(said("bob", bob.roomId, "Answered by ")).toHaveLength(0);
    bob.hangup();
    await rig.released({ timeoutMs: 15_000 });
  });

  it("alice joins the MatrixRTC call first: bob's legacy invite is hung up at once and he is told alice answered", async () => {
    const alice = rig.callee("alice");
    const aliceDm = rig.dm("alice");
    const ringsBefore = rings(alice, aliceDm).length;
    const bobRings = rig.callee("bob").nextIncomingCall(30_000);
    await press("pair");
    const bob = await bobRings;
    await waitFor("alice's MatrixRTC ring", () => rings(alice, aliceDm).length > ringsBefore, { timeoutMs: 20_000 });
    await waitFor("the bot's membership in alice's chat", () => live("alice", aliceDm), { timeoutMs: 10_000 });
    const toldBefore = said("bob", bob.roomId, "Answered by ").length;

    const subscriber = new LiveKitSubscriber(rtc);
    try {
      await join("alice", aliceDm, subscriber);
      const end = await bob.ended();
      expect(end).toMatchObject({ hangupParty: "remote", hangupReason: "user_hangup" });
      const told = await waitFor("bob told who answered", () => said("bob", bob.roomId, "Answered by ")[toldBefore]);
      expect(told).toBe("Answered by alice");
      await waitFor("the camera's video at alice over MatrixRTC", () => subscriber.video.frames > 0, { timeoutMs: 20_000 });
      expect(await live("alice", aliceDm)).toBe(true);
      await leave("alice", aliceDm);
      await waitFor("the bot's membership emptied when alice left", () => emptied("alice", aliceDm), { timeoutMs: 15_000 });
    } finally {
      await subscriber.stop();
    }
    await rig.released({ timeoutMs: 15_000 });
    await waitFor("the camera released", released, { timeoutMs: 15_000 });
  });

  it("encrypted direct chats: dave (matrixrtc) gets one line and no call; erin (both) gets the line and the legacy invite", async () => {
    const [daveDm, erinDm] = [await encryptedDm("dave"), await encryptedDm("erin")];
    const erinRings = rig.callee("erin").nextIncomingCall(30_000);
    await press("locked");
    const erin = await erinRings;
    expect(erin.roomId).toBe(erinDm);
    const daveLine = await waitFor("dave's line", () => said("dave", daveDm, "MatrixRTC calls cannot")[0], { timeoutMs: 15_000 });
    expect(daveLine).toBe(ENCRYPTED_ROOM_TEXT);
    const erinLine = await waitFor("erin's line", () => said("erin", erinDm, "MatrixRTC calls cannot")[0], { timeoutMs: 15_000 });
    expect(erinLine).toBe(`${ENCRYPTED_ROOM_TEXT} The legacy call rings.`);
    expect(rig.callee("dave").callEvents(daveDm)).toHaveLength(0);
    expect(rings(rig.callee("dave"), daveDm)).toHaveLength(0);
    expect(rings(rig.callee("erin"), erinDm)).toHaveLength(0);
    // Erin's client cannot send into an encrypted room (it has no crypto, as the bot): the bot ends her invite as
    // `!hangup` would. Nobody answered: both get the missed-call line.
    expect(app.calls.hangupRoom(erinDm, rig.user("erin").userId)).toBe("ended");
    // Her client sees the bot's hangup: left ringing, the harness's clean-up would hang up itself, and js-sdk's send
    // into the encrypted room rejects unhandled (CI at 9a362d3: every test passed, the run failed on it).
    await waitFor("erin's invite ended by the bot's hangup", () => erin.isEnded(), { timeoutMs: 15_000 });
    await waitFor("dave's missed-call line", () => said("dave", daveDm, "Missed call from the doorbell (locked, ")[0], {
      timeoutMs: 15_000,
    });
    await waitFor("erin's missed-call line", () => said("erin", erinDm, "Missed call from the doorbell (locked, ")[0], {
      timeoutMs: 15_000,
    });
    await rig.released({ timeoutMs: 15_000 });
  });
});
