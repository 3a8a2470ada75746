/**
 * The Element Call callee harness (test/harness/element-call-callee) on real parts: a real Synapse, the real
 * LiveKit SFU, the /sfu/get token service, the bot's LiveKitPublisher with the real camera hub on the GStreamer RTSP
 * test camera, and matrix-js-sdk 43 + livekit-client in headless Chromium as the callee.
 *
 * 1. A ring: another client sends org.matrix.msc4075.rtc.notification into the DM; the callee reports it (with
 *    matrix-js-sdk's own verdict), and its decline is an org.matrix.msc4310.rtc.decline relating to it.
 * 2. A call: the publisher publishes the camera into the LiveKit room the MatrixRTC session names; the callee joins
 *    the room's MatrixRTC session (its m.call.member, which a second matrix-js-sdk client in Node sees), gets its
 *    token from the focus, decodes the camera's video at its size, and leaves (its membership emptied).
 * Skips with one line when chromium or the livekit-server binary is missing.
 */
import type { EventTimeline, MatrixClient, RoomState } from "matrix-js-sdk";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { LiveKitPublisher } from "../../src/matrixrtc/livekit-publisher.ts";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { requestOpenIdToken, requestSfuToken } from "../../src/matrixrtc/sfu-token.ts";
import { startElementCallCallee, type ElementCallCallee } from "../harness/element-call-callee/driver.ts";
import { elementCallGate } from "../harness/element-call-callee/gate.ts";
import { reportFigure } from "../harness/figures.ts";
import { startLiveKit, type LiveKit } from "../harness/livekit.ts";
import { oneCameraHub } from "../harness/one-camera-hub.ts";
import { startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { liveKitRoomFor, startSfuTokenService, type SfuTokenService } from "../harness/sfu-token-service.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";
import { loadMatrixSdk, startSyncingClient } from "../harness/webrtc-env.ts";

const gate = elementCallGate();
const log = pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });
const CALL_MEMBER = "org.matrix.msc3401.call.member";
type EventTimelineDirection = Parameters<EventTimeline["getState"]>[0];

/** The room's current state as the bot's client (matrix-js-sdk in Node) has it from sync. */
function stateOf(roomId: string): RoomState | undefined {
  return botClient.getRoom(roomId)?.getLiveTimeline().getState(forwards);
}

let synapse: SynapseHandle;
let lk: LiveKit;
let service: SfuTokenService;
let bot: RegisteredUser;
let alice: RegisteredUser;
let botClient: MatrixClient;
let forwards: EventTimelineDirection;
let callee: ElementCallCallee;
const cleanups: (() => Promise<unknown>)[] = [];

/** A PUT to the client-server API as `user` (what the bot's matrix-bot-sdk does), parsed. */
async function sendEvent(user: RegisteredUser, roomId: string, type: string, content: object): Promise<string> {
  const txn = `t${String(Date.now())}${String(Math.random()).slice(2, 8)}`;
  const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${type}/${txn}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(content),
  });
  return z.object({ event_id: z.string() }).parse(await res.json()).event_id;
}

async function putState(user: RegisteredUser, roomId: string, type: string, stateKey: string, content: object): Promise<void> {
  const res = await fetch(
    `${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${type}/${encodeURIComponent(stateKey)}`,
    {
      method: "PUT",
      headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
      body: JSON.stringify(content),
    },
  );
  expect(res.status).toBe(200);
}

async function getEvent(
  user: RegisteredUser,
  roomId: string,
  eventId: string,
): Promise<{ type: string; sender: string; content: Record<string, unknown> }> {
  const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`, {
    headers: { authorization: `Bearer ${user.accessToken}` },
  });
  return z.object({ type: z.string(), sender: z.string(), content: z.record(z.string(), z.unknown()) }).parse(await res.json());
}

/** A DM from the bot to alice as Element X creates them (trusted_private_chat: both PL 100), joined by the callee. */
async function openDm(): Promise<string> {
  const { room_id: roomId } = await botClient.createRoom({
    preset: "trusted_private_chat" as never,
    is_direct: true,
    invite: [alice.userId],
  });
  await callee.acceptInvite(roomId);
  await waitFor("alice in the DM", () => botClient.getRoom(roomId)?.getMember(alice.userId)?.membership === "join");
  return roomId;
}

describe.skipIf(gate.skip !== undefined)("Element Call callee (Chromium: matrix-js-sdk MatrixRTC + livekit-client)", () => {
  beforeAll(async () => {
    [synapse, lk] = await Promise.all([startSynapse(), startLiveKit()]);
    cleanups.push(
      () => synapse.stop(),
      () => lk.stop(),
    );
    service = await startSfuTokenService({ livekit: lk, homeservers: { [synapse.serverName]: synapse.baseUrl } });
    cleanups.push(() => service.stop());
    [bot, alice] = await Promise.all([synapse.registerUser("rtcbot"), synapse.registerUser("alice")]);
    forwards = (await loadMatrixSdk()).EventTimeline.FORWARDS;
    botClient = await startSyncingClient({
      baseUrl: synapse.baseUrl,
      accessToken: bot.accessToken,
      userId: bot.userId,
      deviceId: bot.deviceId,
    });
    cleanups.push(() => {
      botClient.stopClient();
      return Promise.resolve();
    });
    if (gate.skip !== undefined) throw new Error(gate.skip);
    callee = await startElementCallCallee({
      chromium: gate.chromium,
      homeserverUrl: synapse.baseUrl,
      user: "alice",
      password: alice.password,
      focusUrl: service.url,
    });
    cleanups.push(() => callee.stop());
  }, 180_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it("reports MatrixRTC rings with matrix-js-sdk's verdict, and declines one with a decline event relating to it", async () => {
    const roomId = await openDm();
    const ringContent = (): object => ({
      "m.mentions": { user_ids: [alice.userId], room: false },
      notification_type: "ring",
      sender_ts: Date.now(),
      lifetime: 30_000,
      "m.call.intent": "video",
      slot_id: "m.call#ROOM",
    });
    // js-sdk 43 rings only for an open MSC4143 slot (shared/notes/matrixrtc.md §1, "Future shape"): without one the
    // callee still reports the notification, with js-sdk's reason.
    const sent = Date.now();
    const bareId = await sendEvent(bot, roomId, "org.matrix.msc4075.rtc.notification", ringContent());
    const bare = await callee.waitForRing(roomId, { eventId: bareId });
    expect(bare.sender).toBe(bot.userId);
    expect(bare.content["notification_type"]).toBe("ring");
    expect(bare.content["m.mentions"]).toEqual({ user_ids: [alice.userId], room: false });
    expect(bare.jsSdk).toEqual({ valid: false, reason: "Slot m.call#ROOM does not exist or is closed" });

    await putState(bot, roomId, "org.matrix.msc4143.rtc.slot", "m.call#ROOM", { status: "open", application: { type: "m.call" } });
    const ringId = await sendEvent(bot, roomId, "org.matrix.msc4075.rtc.notification", ringContent());
    const ring = await callee.waitForRing(roomId, { eventId: ringId });
    reportFigure("element-call-callee-ring", { sendToSeenMs: bare.seenAt - sent });
    expect(ring.jsSdk).toEqual({ valid: true });

    const declineId = await callee.decline(ring);
    const decline = await getEvent(bot, roomId, declineId);
    expect(decline.type).toBe("org.matrix.msc4310.rtc.decline");
    expect(decline.sender).toBe(alice.userId);
    expect(decline.content["m.relates_to"]).toEqual({ rel_type: "m.reference", event_id: ringId });
  });

  it("joins the room's MatrixRTC session through the focus, decodes the published camera, and leaves", async () => {
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    const rtc: RtcNode = loaded.rtc;
    const cam: RtspCamera = await startRtspCamera({ width: 640, height: 360, fps: 25, audio: "pcma", pattern: "ball" });
    cleanups.push(() => cam.stop());
    const hub = oneCameraHub(cam.url, log);
    cleanups.push(() => hub.stopAll());
    const roomId = await openDm();

    // The bot's side as src/matrixrtc has it today: its own token from the same focus, publishing the camera.
    const openid = await requestOpenIdToken(synapse.baseUrl, bot.accessToken, bot.userId);
    const token = await requestSfuToken({ serviceUrl: service.url, roomId, deviceId: bot.deviceId, openIdToken: openid });
    const publisher = new LiveKitPublisher(rtc, hub.acquire("cam"), log);
    cleanups.push(() => publisher.stop());
    await publisher.start(token.url, token.jwt);

    const joinStarted = Date.now();
    const joined = await callee.join(roomId);
    expect(joined.livekitRoom).toBe(liveKitRoomFor(roomId));
    expect(joined.identity).toBe(`${alice.userId}:${callee.deviceId}`);
    expect(joined.micPublished).toBe(true);

    // The callee's membership as another client (matrix-js-sdk in Node) sees it: every field Element Call sends.
    const member = await waitFor(
      "the callee's call.member at the bot's client",
      () => {
        const events = stateOf(roomId)?.getStateEvents(CALL_MEMBER) ?? [];
        return events.find((e) => e.getSender() === alice.userId && e.getContent()["device_id"] === callee.deviceId);
      },
      { timeoutMs: 20_000 },
    );
    expect(member.getStateKey()).toBe(`_${alice.userId}_${callee.deviceId}_m.call`);
    expect(member.getContent()).toMatchObject({
      application: "m.call",
      call_id: "",
      scope: "m.room",
      device_id: callee.deviceId,
      "m.call.intent": "video",
      membershipID: `${alice.userId}:${callee.deviceId}`,
      expires: expect.any(Number) as number,
      focus_active: { type: "livekit", focus_selection: "multi_sfu" },
      foci_preferred: [{ type: "livekit", livekit_service_url: service.url, livekit_alias: roomId }],
    });
    // And as matrix-js-sdk 43's CallMembership parses it in the callee itself, once its own sync has brought it back.
    const own = await waitFor(
      "the callee's membership in its own session",
      async () => (await callee.memberships(roomId)).find((m) => m.userId === alice.userId && m.deviceId === callee.deviceId),
      { timeoutMs: 20_000 },
    );
    expect(own.rtcBackendIdentity).toBe(`${alice.userId}:${callee.deviceId}`);
    expect(own.transport).toMatchObject({ type: "livekit", livekit_service_url: service.url });

    const stats = await callee.waitForVideo({ frames: 50, timeoutMs: 30_000 });
    reportFigure("element-call-callee-call", {
      joinToFirstFrameMs: stats.video.firstFrameAt !== undefined ? Math.round(stats.video.firstFrameAt - joinStarted) : undefined,
      size: `${String(stats.video.width)}x${String(stats.video.height)}`,
      framesDecoded: stats.video.framesDecoded,
      framesPresented: stats.video.framesPresented,
      decoder: stats.video.decoder,
      audioMaxLevel: stats.audio.maxLevel,
      audioSamples: stats.audio.totalSamplesReceived,
      pageErrors: callee.pageErrors.length,
    });
    expect(stats.remoteIdentities).toContain(`${bot.userId}:${bot.deviceId}`);
    expect(stats.video.width).toBe(640);
    expect(stats.video.height).toBe(360);
    expect(stats.video.framesPresented).toBeGreaterThan(0);
    expect(stats.video.firstFrameAt).toBeGreaterThanOrEqual(joinStarted);
    // The camera's tone reaches the callee as audio (getStats audioLevel, 0..1; silence stays near 0).
    // On a timeout the camera's own sound counts tell whether its PCM came at all (a silent track otherwise).
    await waitFor("the camera's audio at the callee", async () => (await callee.stats()).audio.maxLevel > 0.01, {
      timeoutMs: 15_000,
    }).catch((err: unknown) => {
      throw new Error(
        `${String(err)}; the camera's sound in 10 ms chunks: ${JSON.stringify(hub.stats()["cam"]?.audioChunks)}, published: ${JSON.stringify(publisher.stats())}`,
      );
    });

    await callee.leave();
    await waitFor(
      "the callee's membership emptied",
      () => {
        const event = stateOf(roomId)?.getStateEvents(CALL_MEMBER, member.getStateKey() ?? "");
        return event !== undefined && event !== null && Object.keys(event.getContent()).length === 0;
      },
      { timeoutMs: 20_000 },
    );
    await publisher.stop();
  });
});
