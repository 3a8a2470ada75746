/**
 * The bot's side of a MatrixRTC call (src/matrixrtc/rtc-call.ts) on real parts: a real Synapse (delayed events on,
 * as src/dev/synapse-config.ts sets them; a second one without them), a real livekit-server, the /sfu/get token
 * service (test/harness/sfu-token-service.ts), the camera hub decoding the RTSP test camera, and the bot's
 * matrix-bot-sdk client as the bot connects it. The callee is a matrix-js-sdk client: it sees the ring and the
 * bot's membership (both checked against the strict receiver schemas, test/harness/rtc-wire-schema.ts), and
 * declines, or joins with its own call.member and an rtc-node LiveKit subscriber that decodes the bot's video,
 * then leaves.
 * Over 250 lines: eight scenarios share one set-up (two Synapses, LiveKit, the camera), which is the slow part.
 */
import { mkdtempSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { MatrixClient as BotClient } from "matrix-bot-sdk";
import type { MatrixClient, MatrixEvent } from "matrix-js-sdk";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { connectMatrix } from "../../src/matrix/client.ts";
import type { CameraHub } from "../../src/media/camera-hub.ts";
import { LiveKitPublisher } from "../../src/matrixrtc/livekit-publisher.ts";
import { RtcCall, type RtcCallOptions, type RtcCallSteps } from "../../src/matrixrtc/rtc-call.ts";
import { RtcCalls } from "../../src/matrixrtc/rtc-calls.ts";
import { homeserverSteps } from "../../src/matrixrtc/rtc-call-steps.ts";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { RtcRoomApi, type DoRequest } from "../../src/matrixrtc/rtc-room-api.ts";
import { CALL_MEMBER_TYPE, membershipStateKey, RTC_DECLINE_TYPE, RTC_NOTIFICATION_TYPE } from "../../src/matrixrtc/rtc-wire.ts";
import { requestOpenIdToken, requestSfuToken } from "../../src/matrixrtc/sfu-token.ts";
import { reportFigure } from "../harness/figures.ts";
import { liveKitBinary, startLiveKit, type LiveKit } from "../harness/livekit.ts";
import { LiveKitSubscriber } from "../harness/livekit-subscriber.ts";
import { oneCameraHub } from "../harness/one-camera-hub.ts";
import { strictMembershipSchema, strictNotificationSchema } from "../harness/rtc-wire-schema.ts";
import { startRtspCamera } from "../harness/rtsp-camera.ts";
import { startSfuTokenService, type SfuTokenService } from "../harness/sfu-token-service.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";
import { loadMatrixSdk, startSyncingClient } from "../harness/webrtc-env.ts";

const found = liveKitBinary();
if ("skip" in found) process.stderr.write(`${found.skip}\n`);
const log = pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" });

/** One homeserver's side: Synapse, its token service, the bot connected as the bot connects, the callee. */
interface Side {
  synapse: SynapseHandle;
  service: SfuTokenService;
  bot: RegisteredUser & { client: BotClient; api: RtcRoomApi };
  alice: RegisteredUser & { client: MatrixClient };
  /** Every call of this side gets the bot's room events, as the bot's sync delivers them. */
  calls: Set<RtcCall>;
  /** IDs of the room events the bot's sync has delivered (and its calls have handled). */
  seen: Set<string>;
}

let lk: LiveKit;
let hub: CameraHub;
let rtc: RtcNode;
let sdk: Awaited<ReturnType<typeof loadMatrixSdk>>;
let withDelays: Side;
let withoutDelays: Side;
const cleanups: (() => Promise<unknown>)[] = [];

async function startSide(synapse: SynapseHandle, tag: string): Promise<Side> {
  const service = await startSfuTokenService({ livekit: lk, homeservers: { [synapse.serverName]: synapse.baseUrl } });
  cleanups.push(() => service.stop());
  const [botUser, aliceUser] = [await synapse.registerUser(`rtcbot${tag}`), await synapse.registerUser(`alice${tag}`)];
  const config = parseConfig({
    homeserver: { url: synapse.baseUrl, accessToken: botUser.accessToken },
    allowedUsers: [aliceUser.userId],
    cameras: [{ name: "cam", url: "demo://clock" }],
    dataDir: mkdtempSync(path.join(tmpdir(), "mcc-rtc-call-")),
  });
  const { client } = await connectMatrix(config, log);
  const calls = new Set<RtcCall>();
  const seen = new Set<string>();
  client.on("room.event", (roomId: string, event: { event_id?: unknown }) => {
    for (const call of calls) if (call.roomId === roomId) call.handleRoomEvent(event);
    if (typeof event.event_id === "string") seen.add(event.event_id);
  });
  await client.start();
  cleanups.push(() => {
    client.stop();
    return Promise.resolve();
  });
  const alice = await startSyncingClient({
    baseUrl: synapse.baseUrl,
    userId: aliceUser.userId,
    accessToken: aliceUser.accessToken,
    deviceId: aliceUser.deviceId,
  });
  cleanups.push(() => {
    alice.stopClient();
    return Promise.resolve();
  });
  return {
    synapse,
    service,
    bot: { ...botUser, client, api: new RtcRoomApi(client.doRequest.bind(client)) },
    alice: { ...aliceUser, client: alice },
    calls,
    seen,
  };
}

/** A DM the bot creates (as doorbell DMs are), where members may send call.member (state_default would need 50). */
async function openDm(side: Side): Promise<string> {
  const roomId = await side.bot.client.createRoom({
    preset: "private_chat",
    is_direct: true,
    invite: [side.alice.userId],
    power_level_content_override: { events: { [CALL_MEMBER_TYPE]: 0 } },
  });
  await side.alice.client.joinRoom(roomId);
  await waitFor("the bot to see alice in the DM", async () =>
    (await side.bot.client.getJoinedRoomMembers(roomId)).includes(side.alice.userId),
  );
  return roomId;
}

/** The focus and token steps as the bot takes them, with the focus `configured` (the side's token service by default). */
function stepsOf(side: Side, roomId: string, configured = side.service.url): RtcCallSteps {
  return homeserverSteps({
    homeserverUrl: side.synapse.baseUrl,
    accessToken: side.bot.accessToken,
    userId: side.bot.userId,
    deviceId: side.bot.deviceId,
    roomId,
    configured,
  });
}

function placeCall(side: Side, roomId: string, extra: Partial<RtcCallOptions> = {}): RtcCall {
  const call = new RtcCall({
    api: side.bot.api,
    steps: stepsOf(side, roomId),
    publisher: extra.publisher ?? new LiveKitPublisher(rtc, hub.acquire("cam"), log),
    roomId,
    userId: side.bot.userId,
    deviceId: side.bot.deviceId,
    callee: side.alice.userId,
    log,
    ...extra,
  });
  side.calls.add(call);
  cleanups.push(() => call.terminate("test cleanup"));
  return call;
}

/** A call.member state event as alice's client sees it in the room state. */
function aliceSees(side: Side, roomId: string, stateKey: string): MatrixEvent | undefined {
  return (
    side.alice.client.getRoom(roomId)?.getLiveTimeline().getState(sdk.EventTimeline.FORWARDS)?.getStateEvents(CALL_MEMBER_TYPE, stateKey) ??
    undefined
  );
}

/** The bot's call.member content as alice's client sees it. */
function botMembership(side: Side, roomId: string): Record<string, unknown> | undefined {
  return aliceSees(side, roomId, membershipStateKey(side.bot.userId, side.bot.deviceId))?.getContent();
}

/** The ring as alice's client received it. */
function ringSeen(side: Side, roomId: string): { id: string; content: Record<string, unknown> } | undefined {
  const event = side.alice.client
    .getRoom(roomId)
    ?.getLiveTimeline()
    .getEvents()
    .find((e) => e.getType() === RTC_NOTIFICATION_TYPE);
  const id = event?.getId();
  return event !== undefined && id !== undefined ? { id, content: event.getContent() } : undefined;
}

/** The bot's delayed events pending on the homeserver (only those for `roomId`, if given). */
async function delayedEventCount(side: Side, roomId?: string): Promise<number> {
  const answer = (await side.bot.client.doRequest("GET", "/_matrix/client/unstable/org.matrix.msc4140/delayed_events")) as {
    delayed_events?: { room_id?: unknown }[];
  };
  return (answer.delayed_events ?? []).filter((e) => roomId === undefined || e.room_id === roomId).length;
}

describe.skipIf("skip" in found)("MatrixRTC call, bot side", () => {
  beforeAll(async () => {
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    rtc = loaded.rtc;
    sdk = await loadMatrixSdk();
    const [delaysOn, delaysOff, server, cam] = await Promise.all([
      startSynapse(),
      // null: the setting unset, as on a Synapse whose operator did not enable delayed events.
      startSynapse({ extraConfig: { max_event_delay_duration: null } }),
      startLiveKit(),
      startRtspCamera({ width: 640, height: 360, fps: 25, audio: "pcma", pattern: "ball" }),
    ]);
    lk = server;
    cleanups.push(
      () => delaysOn.stop(),
      () => delaysOff.stop(),
      () => server.stop(),
      () => cam.stop(),
    );
    hub = oneCameraHub(cam.url, log);
    cleanups.push(() => hub.stopAll());
    withDelays = await startSide(delaysOn, "");
    withoutDelays = await startSide(delaysOff, "nd");
  }, 180_000);

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it("rings with a membership and a notification a strict receiver accepts; the callee's decline ends it: membership {}", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    // LiveKit connects once the ring is out, not beside the Matrix steps (rtc-call.ts start() says why).
    const publisher = new LiveKitPublisher(rtc, hub.acquire("cam"), log);
    const connect = publisher.start.bind(publisher);
    let ringOutAtConnect: boolean | undefined;
    publisher.start = (url, token) => {
      ringOutAtConnect = call.notificationId !== undefined;
      return connect(url, token);
    };
    const call = placeCall(side, roomId, { publisher });
    const started = performance.now();
    await call.start();
    const ringMs = Math.round(performance.now() - started);
    expect(call.state).toBe("ringing");
    expect(ringOutAtConnect).toBe(true);
    // The leave is scheduled on the homeserver while the call lasts.
    expect(await delayedEventCount(side)).toBe(1);

    await waitFor("alice to see the ring", () => ringSeen(side, roomId) !== undefined);
    const ring = ringSeen(side, roomId);
    const membership = strictMembershipSchema.parse(botMembership(side, roomId));
    expect(membership.device_id).toBe(side.bot.deviceId);
    expect(membership.foci_preferred[0]).toEqual({ type: "livekit", livekit_service_url: side.service.url, livekit_alias: roomId });
    const notification = strictNotificationSchema.parse(ring?.content);
    expect(notification["m.mentions"].user_ids).toEqual([side.alice.userId]);
    const memberEventId = aliceSees(side, roomId, membershipStateKey(side.bot.userId, side.bot.deviceId))?.getId();
    expect(notification["m.relates_to"].event_id).toBe(memberEventId);
    reportFigure("matrixrtc-ring", { startToRingMs: ringMs });

    // A decline of another event (Synapse refuses relations to unknown events: the membership's) and a malformed
    // one change nothing; then the real one.
    const declines = [
      await side.alice.client.sendEvent(
        roomId,
        RTC_DECLINE_TYPE as never,
        { "m.relates_to": { rel_type: "m.reference", event_id: memberEventId } } as never,
      ),
      await side.alice.client.sendEvent(roomId, RTC_DECLINE_TYPE as never, { nonsense: true } as never),
    ];
    await waitFor("the bot to handle the two stray declines", () => declines.every((d) => side.seen.has(d.event_id)));
    expect(call.state).toBe("ringing");
    await side.alice.client.sendEvent(
      roomId,
      RTC_DECLINE_TYPE as never,
      { "m.relates_to": { rel_type: "m.reference", event_id: call.notificationId } } as never,
    );
    await waitFor("the call to end", () => call.state === "ended");
    expect(call.reason).toBe("declined");
    expect(call.failed).toBe(false);
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
    expect(await delayedEventCount(side)).toBe(0);
    await waitFor("the camera to be released", () => hub.stats()["cam"]?.leases === 0);
  });

  it("the callee joins (call.member, LiveKit video decoded) → connected; a malformed call.member is ignored; the callee leaves → ended", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    const call = placeCall(side, roomId);
    await call.start();
    expect(call.state).toBe("ringing");
    const aliceKey = membershipStateKey(side.alice.userId, side.alice.deviceId);

    // Garbage in the callee's membership is logged and ignored: the call keeps ringing.
    const { event_id: malformed } = await side.alice.client.sendStateEvent(
      roomId,
      CALL_MEMBER_TYPE as never,
      { application: "m.call", device_id: 42 } as never,
      aliceKey,
    );
    await waitFor("the bot to handle alice's malformed membership", () => side.seen.has(malformed));
    expect(call.state).toBe("ringing");

    const joinedAt = performance.now();
    const openid = await requestOpenIdToken(side.synapse.baseUrl, side.alice.accessToken, side.alice.userId);
    const token = await requestSfuToken({ serviceUrl: side.service.url, roomId, deviceId: side.alice.deviceId, openIdToken: openid });
    const subscriber = new LiveKitSubscriber(rtc);
    cleanups.push(() => subscriber.stop());
    await subscriber.connect(token.url, token.jwt);
    await side.alice.client.sendStateEvent(
      roomId,
      CALL_MEMBER_TYPE as never,
      {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: side.alice.deviceId,
        expires: 14_400_000,
        focus_active: { type: "livekit", focus_selection: "multi_sfu" },
        foci_preferred: [{ type: "livekit", livekit_service_url: side.service.url, livekit_alias: roomId }],
      } as never,
      aliceKey,
    );
    await waitFor("the bot's video at alice", () => subscriber.video.frames > 0, { timeoutMs: 20_000 });
    const firstFrameMs = Math.round(performance.now() - joinedAt);
    await waitFor("the call to be connected", () => call.state === "connected");
    expect(subscriber.sees(`${side.bot.userId}:${side.bot.deviceId}`)).toBe(true);
    expect([subscriber.video.width, subscriber.video.height]).toEqual([640, 360]);
    reportFigure("matrixrtc-join", { joinToFirstFrameMs: firstFrameMs });

    await side.alice.client.sendStateEvent(roomId, CALL_MEMBER_TYPE as never, {} as never, aliceKey);
    await waitFor("the call to end", () => call.state === "ended");
    expect(call.reason).toBe("the callee left");
    await waitFor("the bot to leave LiveKit", () => !subscriber.sees(`${side.bot.userId}:${side.bot.deviceId}`), { timeoutMs: 10_000 });
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
    await subscriber.stop();
  });

  it("a ring nobody answers ends when its lifetime passes", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    const call = placeCall(side, roomId, { ringLifetimeMs: 3_000 });
    await call.start();
    expect(call.state).toBe("ringing");
    const ring = await waitFor("alice to see the ring", () => ringSeen(side, roomId));
    expect(strictNotificationSchema.parse(ring.content).lifetime).toBe(3_000);
    await waitFor("the call to end", () => call.state === "ended", { timeoutMs: 15_000 });
    expect(call.reason).toBe("nobody answered the ring");
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
  });

  it("the delayed leave: when the bot stops restarting it (a crash), the homeserver empties the membership", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    const { DelayedLeave } = await import("../../src/matrixrtc/delayed-leave.ts");
    const stateKey = membershipStateKey(side.bot.userId, side.bot.deviceId);
    const leave = new DelayedLeave(side.bot.api, roomId, stateKey, log, { delayMs: 2_000, restartMs: 500 });
    expect(await leave.arm()).toBe(true);
    await side.bot.api.putState(roomId, CALL_MEMBER_TYPE, stateKey, {
      application: "m.call",
      call_id: "",
      scope: "m.room",
      device_id: side.bot.deviceId,
      expires: 60_000,
    });
    await waitFor("alice to see the membership", () => botMembership(side, roomId)?.["application"] === "m.call");
    // Restarted every 0.5 s, the 2 s leave does not fire: the membership is still there 3 s later.
    const since = performance.now();
    await waitFor("3 s of restarts", () => performance.now() - since >= 3_000, { timeoutMs: 5_000, intervalMs: 100 });
    expect(botMembership(side, roomId)?.["application"]).toBe("m.call");
    leave.abandon();
    await waitFor("the homeserver to send the leave", () => JSON.stringify(botMembership(side, roomId)) === "{}", { timeoutMs: 10_000 });
  });

  it("hangup() on a homeserver without delayed events sends the leave itself", async () => {
    const side = withoutDelays;
    const roomId = await openDm(side);
    const call = placeCall(side, roomId);
    await call.start();
    expect(call.state).toBe("ringing");
    await waitFor("alice to see the membership", () => strictMembershipSchema.safeParse(botMembership(side, roomId)).success);
    await call.hangup();
    expect(call.state).toBe("ended");
    expect(call.reason).toBe("hung up");
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
  });

  it("rings while LiveKit is still connecting (the ring does not wait for it); a hangup then ends the call and the connect", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    // A LiveKit that takes the connection and never answers it: the publish cannot finish while the call rings.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const port = (silent.address() as AddressInfo).port;
    const real = stepsOf(side, roomId);
    const call = placeCall(side, roomId, {
      steps: {
        focus: () => real.focus(),
        token: async (focus) => ({ ...(await real.token(focus)), url: `ws://127.0.0.1:${String(port)}` }),
      },
    });
    const starting = call.start();
    await waitFor("alice to see the ring", () => ringSeen(side, roomId) !== undefined);
    await waitFor("the call to ring", () => call.state === "ringing");
    // The connect starts once the ring is out (rtc-call.ts start()).
    await waitFor("LiveKit's connect to reach the silent server", () => sockets.length > 0);
    expect(strictMembershipSchema.safeParse(botMembership(side, roomId)).success).toBe(true);
    await call.hangup();
    await starting;
    expect(call.reason).toBe("hung up");
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
    await waitFor("the camera to be released", () => hub.stats()["cam"]?.leases === 0);
  });

  it("a LiveKit that refuses the connection: the ring went out first, then the call ends as failed, membership {}", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const real = stepsOf(side, roomId);
    const call = placeCall(side, roomId, {
      steps: {
        focus: () => real.focus(),
        token: async (focus) => ({ ...(await real.token(focus)), url: `ws://127.0.0.1:${String(port)}` }),
      },
    });
    await call.start();
    expect(call.state).toBe("ended");
    expect(call.failed).toBe(true);
    expect(call.notificationId).toBeDefined();
    expect(call.reason).toMatch(/could not start/);
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
    await waitFor("the camera to be released", () => hub.stats()["cam"]?.leases === 0);
  });

  it("an end the homeserver holds past its bound: the room's next call waits for the old leave to land, and keeps its membership", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    const client = side.bot.client;
    // The first leave sent now (the delayed leave's "send") waits until released, as on a homeserver that hangs.
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holds = 1;
    const doRequest: DoRequest = async (method, endpoint, qs, body) => {
      if (endpoint.includes("/delayed_events/") && endpoint.endsWith("/send") && holds-- > 0) await held;
      return client.doRequest(method, endpoint, qs, body) as Promise<unknown>;
    };
    const calls = new RtcCalls({
      client: { doRequest, getRoomStateEvent: client.getRoomStateEvent.bind(client) },
      homeserverUrl: side.synapse.baseUrl,
      accessToken: side.bot.accessToken,
      userId: side.bot.userId,
      deviceId: side.bot.deviceId,
      livekitServiceUrl: side.service.url,
      hub,
      log,
      onCall: (call) => side.calls.add(call),
      callOptions: { endWithinMs: 1_000, delayedLeave: { delayMs: 3_000, restartMs: 1_000 } },
    });
    cleanups.push(() => calls.terminateAll("test cleanup"));
    expect((await calls.place(roomId, side.alice.userId, "cam")).ok).toBe(true);
    await waitFor("alice to see the first call's membership", () => strictMembershipSchema.safeParse(botMembership(side, roomId)).success);
    expect(calls.hangupRoom(roomId, side.alice.userId)).toBe("ended");
    await waitFor("the first call's end to give up on the held leave", () => calls.callInRoom(roomId) === undefined, { timeoutMs: 10_000 });
    const second = calls.place(roomId, side.alice.userId, "cam");
    // The bot stopped restarting the first call's delayed leave: the homeserver sends it after its delay.
    await waitFor("the homeserver to send the first call's leave", () => JSON.stringify(botMembership(side, roomId)) === "{}", {
      timeoutMs: 15_000,
    });
    // The second call is not made yet (no membership, no camera): the first's held send can still land.
    expect(calls.callInRoom(roomId)).toBeUndefined();
    expect(hub.stats()["cam"]?.leases ?? 0).toBe(0);
    release();
    const placed = await second;
    expect(placed.ok && placed.call.state).toBe("ringing");
    await waitFor("alice to see the second call's membership", () => strictMembershipSchema.safeParse(botMembership(side, roomId)).success);
    // Nothing of the first call is left to empty it: one delayed leave in the room, the second call's own.
    expect(await delayedEventCount(side, roomId)).toBe(1);
    await calls.terminateAll("done");
    await waitFor("alice to see the bot's membership emptied", () => JSON.stringify(botMembership(side, roomId)) === "{}");
  });

  it("a focus that refuses the token ends the call before any membership or ring", async () => {
    const side = withDelays;
    const roomId = await openDm(side);
    const delayedBefore = await delayedEventCount(side);
    const call = placeCall(side, roomId, {
      steps: stepsOf(side, roomId, "http://127.0.0.1:9"),
    });
    await call.start();
    expect(call.state).toBe("ended");
    expect(call.reason).toMatch(/^could not start: the MatrixRTC focus http:\/\/127\.0\.0\.1:9\/sfu\/get did not answer/);
    expect(botMembership(side, roomId)).toBeUndefined();
    expect(await delayedEventCount(side)).toBe(delayedBefore);
    await waitFor("the camera to be released", () => hub.stats()["cam"]?.leases === 0);
  });
});
