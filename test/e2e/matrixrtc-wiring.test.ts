/**
 * MatrixRTC calls through the whole bot (startApp): `!ring matrixrtc` then `!call cam` rings the user with a
 * MatrixRTC call (membership + rtc.notification), the user joins it (call.member, LiveKit) and an rtc-node
 * subscriber decodes the camera; `!status` lists it; `!hangup` empties the bot's membership. With `!ring both` the
 * legacy invite and the MatrixRTC ring go out together, and the legacy answer withdraws the MatrixRTC ring. The
 * callee leaving the room, the bot removed from it, or a third member joining it ends the call, though the callee's
 * client stays in LiveKit.
 * Real Synapse, livekit-server, the /sfu/get test service, a GStreamer RTSP camera, a matrix-js-sdk callee.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { CALL_MEMBER_TYPE, membershipStateKey, RTC_NOTIFICATION_TYPE } from "../../src/matrixrtc/rtc-wire.ts";
import { markMessages, sayToBot } from "../harness/bot-replies.ts";
import type { Callee } from "../harness/callee.ts";
import { reportFigure } from "../harness/figures.ts";
import { liveKitBinary } from "../harness/livekit.ts";
import { LiveKitSubscriber } from "../harness/livekit-subscriber.ts";
import type { Rig } from "../harness/rig.ts";
import { joinAsElementX, leaveAsElementX } from "../harness/rtc-member.ts";
import { startRtcRig } from "../harness/rtc-rig.ts";
import type { SfuTokenService } from "../harness/sfu-token-service.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

const found = liveKitBinary();
if ("skip" in found) process.stderr.write(`${found.skip}\n`);

let rtc: RtcNode;
let service: SfuTokenService;
let stopRtc: (() => Promise<void>) | undefined;
let rig: Rig;
let app: App;
let alice: RegisteredUser;
let callee: Callee;
let dm: string;

async function say(body: string, reply: (text: string) => boolean): Promise<string> {
  return sayToBot(callee, dm, rig.bot.userId, body, reply);
}

function rings(roomId = dm): string[] {
  const events = callee.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.filter((e) => e.getType() === RTC_NOTIFICATION_TYPE).map((e) => e.getId() ?? "");
}

/** The bot's call.member content, read from the homeserver as alice. */
async function botMembership(): Promise<unknown> {
  const key = membershipStateKey(rig.bot.userId, app.matrix.deviceId ?? "");
  const res = await fetch(
    `${rig.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/state/${CALL_MEMBER_TYPE}/${encodeURIComponent(key)}`,
    {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    },
  );
  return res.status === 200 ? await res.json() : undefined;
}

async function botMembershipEmptied(): Promise<boolean> {
  return JSON.stringify(await botMembership()) === "{}";
}

/** Alice joins the MatrixRTC call in the DM as Element X does: LiveKit first (subscribed), then her call.member. */
async function join(subscriber: LiveKitSubscriber): Promise<void> {
  await joinAsElementX(rig, "alice", dm, service.url, subscriber);
}

async function leave(): Promise<void> {
  await leaveAsElementX(rig, "alice", dm);
}

/**
 * A new direct chat of alice and the bot, its MatrixRTC call (alice's choice set to matrixrtc) joined by alice as
 * Element X does: the room, the subscriber seeing the camera, and the bot's LiveKit identity.
 */
async function joinedCallInNewDm(subscriber: LiveKitSubscriber): Promise<{ roomId: string; bot: string }> {
  expect(await say("!ring matrixrtc", (t) => t.startsWith("!call rings you"))).toContain("MatrixRTC");
  const roomId = await callee.client
    .createRoom({
      preset: "trusted_private_chat" as never,
      is_direct: true,
      invite: [rig.bot.userId],
      // The bot below alice (so she can remove it) and still allowed state events (call.member, the slot).
      power_level_content_override: { users: { [alice.userId]: 100, [rig.bot.userId]: 50 } },
    })
    .then((r) => r.room_id);
  await waitFor("the bot to join the new DM", async () => (await app.matrix.client.getJoinedRooms()).includes(roomId));
  await callee.client.sendTextMessage(roomId, "!call cam");
  await waitFor("alice to see the MatrixRTC ring", () => rings(roomId).length > 0, { timeoutMs: 20_000 });
  await joinAsElementX(rig, "alice", roomId, service.url, subscriber);
  await waitFor("the camera's video at alice", () => subscriber.video.frames > 0, { timeoutMs: 20_000 });
  return { roomId, bot: `${rig.bot.userId}:${app.matrix.deviceId ?? ""}` };
}

/** The bot's call is over: the bot left LiveKit and the camera is released. */
async function callOver(subscriber: LiveKitSubscriber, bot: string): Promise<void> {
  await waitFor("the bot to leave LiveKit", () => !subscriber.sees(bot), { timeoutMs: 15_000 });
  await waitFor("the camera released", () => app.hub.stats()["cam"]?.leases === 0, { timeoutMs: 15_000 });
}

describe.skipIf("skip" in found)("MatrixRTC calls through the bot", () => {
  beforeAll(async () => {
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    rtc = loaded.rtc;
    const started = await startRtcRig("rtc-wiring", "rtcwirebot");
    stopRtc = started.stop;
    rig = started.rig;
    service = started.service;
    app = rig.app;
    alice = rig.user("alice");
    callee = rig.callee("alice");
    dm = started.dm;
  }, 180_000);

  afterAll(async () => {
    await stopRtc?.();
  });

  it("!ring matrixrtc, !call: the MatrixRTC ring, the user joins and sees the camera, !status lists it, !hangup empties the membership", async () => {
    expect(await say("!ring", (t) => t.startsWith("!call rings you"))).toContain("the bot's setting");
    expect(await say("!ring matrixrtc", (t) => t.startsWith("!call rings you"))).toContain("MatrixRTC");
    const ringsBefore = rings().length;
    const typed = performance.now();
    await callee.client.sendTextMessage(dm, "!call cam");
    await waitFor("alice to see the MatrixRTC ring", () => rings().length > ringsBefore, { timeoutMs: 20_000 });
    reportFigure("matrixrtc-command-ring", { commandToRingMs: Math.round(performance.now() - typed) });
    expect(callee.callEvents(dm).filter((e) => e.type === "m.call.invite")).toHaveLength(0);

    const subscriber = new LiveKitSubscriber(rtc);
    try {
      await join(subscriber);
      await waitFor("the camera's video at alice", () => subscriber.video.frames > 0, { timeoutMs: 20_000 });
      expect([subscriber.video.width, subscriber.video.height]).toEqual([640, 360]);
      expect(await say("!status", (t) => t.includes("MatrixRTC call"))).toContain("MatrixRTC call: cam (connected)");
      // A second !call while it lasts: the room is busy, for MatrixRTC calls too.
      expect(await say("!call cam", (t) => t.includes("already in progress"))).toContain("!hangup");

      await callee.client.sendTextMessage(dm, "!hangup");
      await waitFor("the bot's membership emptied", botMembershipEmptied, { timeoutMs: 15_000 });
      await waitFor("the bot to leave LiveKit", () => !subscriber.sees(`${rig.bot.userId}:${app.matrix.deviceId ?? ""}`), {
        timeoutMs: 10_000,
      });
    } finally {
      await subscriber.stop();
      await leave();
    }
    await waitFor("the camera released", () => app.hub.stats()["cam"]?.leases === 0, { timeoutMs: 15_000 });
  });

  it("!ring both: the legacy invite and the MatrixRTC ring go out together; the legacy answer withdraws the MatrixRTC ring", async () => {
    expect(await say("!ring both", (t) => t.startsWith("!call rings you"))).toContain("both at once");
    const ringsBefore = rings().length;
    const call = await rig.ring("alice", "cam");
    await waitFor("alice to see the MatrixRTC ring too", () => rings().length > ringsBefore, { timeoutMs: 20_000 });
    expect(await botMembership()).toHaveProperty("application", "m.call");
    await call.answer();
    await waitFor("the MatrixRTC membership emptied once the legacy call was answered", botMembershipEmptied, { timeoutMs: 15_000 });
    await waitFor("the legacy call's video", () => call.video().frames > 0, { timeoutMs: 20_000 });
    expect(call.isEnded()).toBe(false);
    await callee.client.sendTextMessage(dm, "!hangup");
    await call.ended();
    await rig.released({ timeoutMs: 15_000 });
  });

  it("!ring both: joining the MatrixRTC call first withdraws the legacy invite", async () => {
    const call = await rig.ring("alice", "cam");
    await waitFor("the bot's MatrixRTC membership", async () => (await botMembership()) !== undefined && !(await botMembershipEmptied()));
    const subscriber = new LiveKitSubscriber(rtc);
    try {
      await join(subscriber);
      const end = await call.ended();
      expect(end.hangupParty).toBe("remote");
      await waitFor("the camera's video at alice over MatrixRTC", () => subscriber.video.frames > 0, { timeoutMs: 20_000 });
      expect(await botMembershipEmptied()).toBe(false);
      await callee.client.sendTextMessage(dm, "!hangup");
      await waitFor("the bot's membership emptied", botMembershipEmptied, { timeoutMs: 15_000 });
    } finally {
      await subscriber.stop();
      await leave();
    }
    await waitFor("the camera released", () => app.hub.stats()["cam"]?.leases === 0, { timeoutMs: 15_000 });
  });

  it("an encrypted DM: no MatrixRTC call, the user is told to use an unencrypted one; with 'both' the legacy call still rings", async () => {
    const roomId = await callee.client
      .createRoom({
        preset: "trusted_private_chat" as never,
        is_direct: true,
        invite: [rig.bot.userId],
        initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
      })
      .then((r) => r.room_id);
    await waitFor("the bot to join the encrypted DM", async () => (await app.matrix.client.getJoinedRooms()).includes(roomId));
    // Alice's client has no encryption, as the bot: a plaintext command over the client-server API (Synapse accepts it).
    const said = markMessages(callee, roomId, rig.bot.userId);
    const res = await fetch(`${rig.synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/enc1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${alice.accessToken}` },
      body: JSON.stringify({ msgtype: "m.text", body: "!call cam" }),
    });
    expect(res.status).toBe(200);
    const reply = await said.next("the bot's reply", (t) => t.includes("encrypted"));
    expect(reply).toContain("use an unencrypted direct chat");
    expect(reply).toContain("The legacy call rings.");
    await waitFor("the legacy invite", () => callee.callEvents(roomId).some((e) => e.type === "m.call.invite"));
    expect(app.calls.callInRoom(roomId)).toBeDefined();
    app.calls.hangupRoom(roomId, alice.userId);
    await rig.released({ timeoutMs: 15_000 });
  });

  it("the callee leaves the room while still in LiveKit (as when removed from another device): the call ends, the bot leaves the room", async () => {
    const subscriber = new LiveKitSubscriber(rtc);
    try {
      const { roomId, bot } = await joinedCallInNewDm(subscriber);
      // Her call.member stays in the room's state and her client in LiveKit: only the room membership says she is gone.
      await callee.client.leave(roomId);
      await callOver(subscriber, bot);
      // The leave and the publisher's stop run side by side: the membership may empty a moment after the camera.
      const key = membershipStateKey(rig.bot.userId, app.matrix.deviceId ?? "");
      await waitFor("the bot's membership emptied", async () => {
        const membership: unknown = await app.matrix.client.getRoomStateEvent(roomId, CALL_MEMBER_TYPE, key).catch(() => undefined);
        return JSON.stringify(membership) === "{}";
      });
      // Then, with nobody else in the room, the bot leaves it (after its leave: out of the room it could send none).
      await waitFor("the bot out of the room", async () => !(await app.matrix.client.getJoinedRooms()).includes(roomId));
    } finally {
      await subscriber.stop();
    }
  });

  it("the bot removed from the room during the call: the call ends, LiveKit left, the camera released", async () => {
    const subscriber = new LiveKitSubscriber(rtc);
    try {
      const { roomId, bot } = await joinedCallInNewDm(subscriber);
      await callee.client.kick(roomId, rig.bot.userId, "test: the bot is removed");
      await callOver(subscriber, bot);
      await leaveAsElementX(rig, "alice", roomId);
    } finally {
      await subscriber.stop();
    }
  });

  it("a third member joins the room during the call: the call ends (anyone in the room could join it) and the room is told why", async () => {
    const bob = await rig.synapse.registerUser("bob");
    const subscriber = new LiveKitSubscriber(rtc);
    try {
      const { roomId, bot } = await joinedCallInNewDm(subscriber);
      const told = markMessages(callee, roomId, rig.bot.userId);
      await callee.client.invite(roomId, bob.userId);
      const joined = await fetch(`${rig.synapse.baseUrl}/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${bob.accessToken}` },
        body: "{}",
      });
      expect(joined.status).toBe(200);
      expect(await told.next("the bot's notice", (t) => t.includes(bob.userId))).toContain("so I ended the MatrixRTC call");
      await callOver(subscriber, bot);
      await leaveAsElementX(rig, "alice", roomId);
    } finally {
      await subscriber.stop();
    }
  });

  it("shutdown (app.stop) ends a ringing MatrixRTC call: the membership is emptied", async () => {
    expect(await say("!ring matrixrtc", (t) => t.startsWith("!call rings you"))).toContain("MatrixRTC");
    const ringsBefore = rings().length;
    await callee.client.sendTextMessage(dm, "!call cam");
    await waitFor("alice to see the MatrixRTC ring", () => rings().length > ringsBefore, { timeoutMs: 20_000 });
    await app.stop();
    expect(await botMembershipEmptied()).toBe(true);
  });
});
