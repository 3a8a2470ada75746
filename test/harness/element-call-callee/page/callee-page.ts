/**
 * The Element-Call-style callee, running in headless Chromium: matrix-js-sdk 43 (the MatrixRTC code Element Call
 * runs, bundled for the browser) for login, sync, rings and the room's MatrixRTC session, and livekit-client for
 * media (media.ts). The Node driver (../driver.ts) calls the functions on window.mccCallee through CDP and gets
 * rings through the report binding.
 *
 * Join follows Element Call's default "compatibility" mode (shared/notes/matrixrtc.md §1, §2): an OpenID token
 * from the homeserver, `POST {focus}/sfu/get` for the LiveKit url and jwt, connect and publish the microphone,
 * then MatrixRTCSession.joinRTCSession with the focus as the multi-SFU transport, which makes matrix-js-sdk send
 * the `org.matrix.msc3401.call.member` state event (and its MSC4140 delayed leave where Synapse offers it).
 */
import {
  ClientEvent,
  createClient,
  EventType,
  RelationType,
  RoomEvent,
  SyncState,
  type MatrixClient,
  type MatrixEvent,
} from "matrix-js-sdk-rtc";
import { parseCallNotificationContent, type MatrixRTCSession } from "matrix-js-sdk-rtc/lib/matrixrtc/index.js";
import { z } from "zod";
import { PAGE_API, REPORT_BINDING, type JoinResult, type Membership, type MediaStats, type Report, type Ring } from "../protocol.ts";
import { CalleeMedia } from "./media.ts";

declare global {
  interface Window {
    [REPORT_BINDING]?: (json: string) => void;
    [PAGE_API]?: unknown;
  }
}

/** The focus's /sfu/get answer (lk-jwt-service's legacy contract). */
const sfuTokenSchema = z.object({ url: z.string(), jwt: z.string() });
const RTC_NOTIFICATION: string = EventType.RTCNotification;

let client: MatrixClient | undefined;
let call: { roomId: string; session: MatrixRTCSession; media: CalleeMedia } | undefined;

function report(r: Report): void {
  window[REPORT_BINDING]?.(JSON.stringify(r));
}

function reportError(where: string, err: unknown): void {
  report({ kind: "error", where, message: err instanceof Error ? err.message : String(err) });
}

function need(): MatrixClient {
  if (client === undefined) throw new Error("not logged in");
  return client;
}

async function onTimeline(event: MatrixEvent, toStartOfTimeline: boolean | undefined): Promise<void> {
  if (toStartOfTimeline === true || event.getType() !== RTC_NOTIFICATION) return;
  const c = need();
  const room = c.getRoom(event.getRoomId());
  let jsSdk: Ring["jsSdk"];
  try {
    if (room === null) throw new Error("room unknown to the client");
    await parseCallNotificationContent(event, { room, userId: c.getSafeUserId() });
    jsSdk = { valid: true };
  } catch (err: unknown) {
    jsSdk = { valid: false, reason: err instanceof Error ? err.message : String(err) };
  }
  report({
    kind: "ring",
    ring: {
      roomId: event.getRoomId() ?? "",
      eventId: event.getId() ?? "",
      sender: event.getSender() ?? "",
      seenAt: Date.now(),
      content: event.getContent(),
      jsSdk,
    },
  });
}

async function login(opts: { homeserverUrl: string; user: string; password: string }): Promise<{ userId: string; deviceId: string }> {
  const res = await createClient({ baseUrl: opts.homeserverUrl }).loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: opts.user },
    password: opts.password,
    initial_device_display_name: "Element Call callee (tests)",
  });
  const c = createClient({ baseUrl: opts.homeserverUrl, accessToken: res.access_token, userId: res.user_id, deviceId: res.device_id });
  client = c;
  c.on(RoomEvent.Timeline, (event, _room, toStart) => {
    onTimeline(event, toStart).catch((err: unknown) => {
      reportError("ring", err);
    });
  });
  const prepared = new Promise<void>((resolve) => {
    const onSync = (state: SyncState): void => {
      if (state !== SyncState.Prepared) return;
      c.off(ClientEvent.Sync, onSync);
      resolve();
    };
    c.on(ClientEvent.Sync, onSync);
  });
  await c.startClient({ initialSyncLimit: 20 });
  await prepared;
  return { userId: res.user_id, deviceId: res.device_id };
}

async function acceptInvite(roomId: string): Promise<void> {
  await need().joinRoom(roomId);
}

async function roomOf(roomId: string): Promise<NonNullable<ReturnType<MatrixClient["getRoom"]>>> {
  const c = need();
  for (let i = 0; i < 200; i++) {
    const room = c.getRoom(roomId);
    if (room !== null) return room;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`room ${roomId} did not arrive by sync`);
}

/** `ring`: start the call as Element Call does in a DM, with an rtc.notification ring (js-sdk's notificationType). */
async function join(opts: { roomId: string; focusUrl: string; ring?: boolean }): Promise<JoinResult> {
  if (call !== undefined) throw new Error(`already in a call in ${call.roomId}`);
  const c = need();
  const room = await roomOf(opts.roomId);
  const deviceId = c.getDeviceId() ?? "";
  const openid = await c.getOpenIdToken();
  const res = await fetch(`${opts.focusUrl}/sfu/get`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ room: opts.roomId, openid_token: openid, device_id: deviceId }),
  });
  if (!res.ok) throw new Error(`the focus refused a token: ${String(res.status)} ${await res.text()}`);
  const { url, jwt } = sfuTokenSchema.parse(await res.json());
  const media = new CalleeMedia(reportError);
  const connected = await media.connect(url, jwt);
  const session = c.matrixRTC.getRoomSession(room);
  const userId = c.getSafeUserId();
  // Element Call puts the Matrix room id in livekit_alias for older clients (notes §1) and uses multi-SFU.
  const transport = { type: "livekit", livekit_service_url: opts.focusUrl, livekit_alias: opts.roomId };
  session.joinRTCSession({ userId, deviceId, memberId: `${userId}:${deviceId}` }, [], transport, {
    callIntent: "video",
    ...(opts.ring === true ? { notificationType: "ring" as const } : {}),
  });
  call = { roomId: opts.roomId, session, media };
  return { livekitUrl: url, livekitRoom: connected.room, identity: connected.identity, micPublished: connected.micPublished };
}

async function memberships(roomId: string): Promise<Membership[]> {
  const session = need().matrixRTC.getRoomSession(await roomOf(roomId));
  await session.ensureRecalculateSessionMembers();
  const oldest = session.getOldestMembership();
  return session.memberships.map((m) => {
    const transport = oldest !== undefined ? m.getTransport(oldest) : undefined;
    return {
      userId: m.userId,
      deviceId: m.deviceId,
      eventId: m.eventId,
      rtcBackendIdentity: m.rtcBackendIdentity,
      ...(transport !== undefined ? { transport } : {}),
    };
  });
}

async function decline(opts: { roomId: string; notificationEventId: string }): Promise<string> {
  const content = { "m.relates_to": { rel_type: RelationType.Reference, event_id: opts.notificationEventId } } as const;
  const sent = await need().sendEvent(opts.roomId, EventType.RTCDecline, content);
  return sent.event_id;
}

async function leave(): Promise<void> {
  const current = call;
  call = undefined;
  if (current === undefined) return;
  await current.session.leaveRoomSession(5_000);
  await current.media.disconnect();
}

function stats(): MediaStats | undefined {
  return call?.media.stats();
}

async function stop(): Promise<void> {
  await leave();
  client?.stopClient();
}

window[PAGE_API] = { login, acceptInvite, join, memberships, decline, leave, stats, stop };
