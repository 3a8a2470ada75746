/**
 * The doorbell end to end, on real parts: a real Synapse, a GStreamer RTSP camera, a real mosquitto broker
 * (Debian's, on a free port with a temporary configuration), the bot started in-process from a YAML config
 * with its real HTTP listener, and matrix-js-sdk callees. Presses come by HTTP (fetch) and MQTT (mqtt.js).
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { jpegSize } from "../../src/doorbell/snapshot.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import type { Callee, IncomingCall } from "../harness/callee.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { startMosquitto, type Mosquitto } from "../harness/mosquitto.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import type { RegisteredUser, SynapseHandle } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

const LIFETIME_MS = 6000;
const RTSP_PASSWORD = "cam-s3cret-Pa55";
const WEBHOOK_TOKEN = "doorbell-webhook-T0ken-0123456789";
const MARKER = "MALFORMED-PAYLOAD-MARKER";

let rig: Rig;
let synapse: SynapseHandle;
let broker: Mosquitto;
let app: App;
let bot: RegisteredUser;
let alice: Callee;
let bob: Callee;
let aliceDm: string;
let publisher: MqttClient;
let logFile: string;
let baseUrl: string;
const cleanups: (() => Promise<unknown>)[] = [];

async function ring(
  cameraName: string,
  token: string | undefined,
  body?: string,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
  const res = await fetch(`${baseUrl}/ring/${cameraName}`, { method: "POST", headers, body: body ?? "{}" });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** POST /ring/<camera> from another loopback address (Linux routes all of 127/8 to lo); resolves with the status. */
function postFrom(from: string, cameraName: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: Number(new URL(baseUrl).port),
        localAddress: from,
        method: "POST",
        path: `/ring/${cameraName}`,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function publish(topic: string, payload: string | Buffer): Promise<void> {
  await publisher.publishAsync(topic, payload, { qos: 1 });
}

interface ImageEvent {
  body: string;
  url: string;
  info: { mimetype?: string; w?: number; h?: number; size?: number };
}

function images(user: Callee, roomId: string): ImageEvent[] {
  const events = user.client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events
    .filter((e) => e.getType() === "m.room.message" && e.getSender() === bot.userId && e.getContent()["msgtype"] === "m.image")
    .map((e) => e.getContent() as unknown as ImageEvent);
}

/** Downloads an mxc:// URL as `user` (authenticated media, else the legacy endpoint). */
async function download(mxc: string, token: string): Promise<Buffer> {
  const m = /^mxc:\/\/([^/]+)\/([^/]+)$/.exec(mxc);
  if (!m?.[1] || !m[2]) throw new Error(`not an mxc URL: ${mxc}`);
  for (const url of [
    `${synapse.baseUrl}/_matrix/client/v1/media/download/${m[1]}/${m[2]}`,
    `${synapse.baseUrl}/_matrix/media/v3/download/${m[1]}/${m[2]}`,
  ]) {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (res.ok) return Buffer.from(await res.arrayBuffer());
  }
  throw new Error(`could not download ${mxc}`);
}

/** How many log lines of the bot have this message. */
const logCount = (msg: string): number => rig.logCount(msg);

const lastMessage = (user: Callee, roomId: string, prefix: string): string | undefined =>
  user.messages(roomId, bot.userId).find((m) => m.startsWith(prefix));

beforeAll(async () => {
  broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const cam = (name: string, ring: Record<string, unknown>, url: string | undefined): Record<string, unknown> => ({
    name,
    url,
    maxWidth: 1280,
    maxHeight: 720,
    ring,
  });
  rig = await startRig({
    name: "doorbell",
    cameras: { cam: { width: 1280, height: 720, fps: 25, audio: "pcma", user: "admin", password: RTSP_PASSWORD } },
    // Alice already has a direct chat with the bot; Bob has none (the bot makes one).
    users: ["alice", { name: "bob", dm: false }],
    env: { WEBHOOK_TOKEN, MQTT_PASSWORD: broker.password },
    config: ({ cameras, users }) => {
      const url = cameras["cam"]?.url;
      const [a, b] = [users["alice"]?.userId, users["bob"]?.userId];
      return {
        cameras: [
          cam("webhookcam", { users: [a], debounceMs: 60000 }, url),
          cam("mqttcam", { users: [a], debounceMs: 0, snapshot: false }, url),
          cam("family", { users: [a, b], debounceMs: 0 }, url),
          cam("missed", { users: [b], debounceMs: 0 }, url),
        ],
        calls: { inviteLifetimeMs: LIFETIME_MS },
        http: { listen: "127.0.0.1:0" },
        triggers: {
          // This file presses mqttcam about ten times in a minute or two.
          pressLimit: { burst: 30, perMinute: 60 },
          webhook: { token: "${WEBHOOK_TOKEN}", rateLimit: { burst: 30, perMinute: 60 } },
          mqtt: {
            url: broker.url,
            username: broker.username,
            password: "${MQTT_PASSWORD}",
            rules: [
              { topic: "zigbee/doorbell/+", json: { path: "action", equals: "single" }, camera: "mqttcam" },
              { topic: "home/doorbell/button", payload: "pushed", camera: "mqttcam" },
            ],
            frigate: { eventLabels: ["person"], cameraMap: { front_door: "mqttcam" } },
            homeAssistant: { topic: "mcc/ring" },
          },
        },
      };
    },
  });
  cleanups.push(() => rig.stop());
  ({ synapse, app, bot, logFile } = rig);
  if (app.http === undefined) throw new Error("the HTTP listener did not start");
  baseUrl = `http://127.0.0.1:${app.http.port}`;
  alice = rig.callee("alice");
  bob = rig.callee("bob");
  aliceDm = rig.dm("alice");

  publisher = await connectAsync(broker.url, { username: broker.username, password: broker.password, clientId: "doorbell-test-publisher" });
  cleanups.push(() => publisher.endAsync());
  await waitFor("the bot's MQTT subscription", () => logCount("MQTT subscribed") === 1, { timeoutMs: 15_000 });
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeE2E("the doorbell", () => {
  it("a webhook press rings alice, who sees the camera; no token gets 401 and rings nobody; a second press within the debounce window rings nobody", async () => {
    const before = alice.incomingCallCount();
    expect((await ring("webhookcam", undefined)).status).toBe(401);
    const wrong = await ring("webhookcam", "not-the-token-but-as-long-as-it");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);

    const ringing = alice.nextIncomingCall(20_000);
    const first = await ring("webhookcam", WEBHOOK_TOKEN);
    expect(first).toMatchObject({ status: 202, json: { status: "ringing", camera: "webhookcam" } });
    const again = await ring("webhookcam", WEBHOOK_TOKEN);
    expect(again).toMatchObject({ status: 200, json: { status: "debounced" } });

    const call = await ringing;
    expect(call.roomId).toBe(aliceDm);
    await call.answer();
    const video = await call.waitForFrames(25, 15_000);
    expect({ width: video.width, height: video.height }).toEqual({ width: 1280, height: 720 });
    expect(alice.incomingCallCount()).toBe(before + 1);
    // The ring first: in a joined direct chat the line is sent once the homeserver has the invite (its send in the
    // press → ring path cost the ring a round trip, and the callee's client a second sync).
    const line = await waitFor("the doorbell line", () => lastMessage(alice, aliceDm, "Doorbell: webhookcam, "), { timeoutMs: 15_000 });
    expect(line).toMatch(/^Doorbell: webhookcam, \d\d:\d\d$/);
    const timeline = alice.client.getRoom(aliceDm)?.getLiveTimeline().getEvents() ?? [];
    const inviteAt = timeline.findIndex((e) => e.getType() === "m.call.invite" && e.getContent()["call_id"] === call.callId);
    const lineAt = timeline.findIndex((e) => e.getType() === "m.room.message" && e.getContent()["body"] === line);
    expect(inviteAt).toBeGreaterThanOrEqual(0);
    expect(lineAt).toBeGreaterThan(inviteAt);

    // The snapshot: an m.image whose media is a JPEG of the camera's size.
    const image = await waitFor("the snapshot in alice's DM", () => images(alice, aliceDm)[0], { timeoutMs: 20_000 });
    expect(image.info).toMatchObject({ mimetype: "image/jpeg", w: 1280, h: 720 });
    const jpeg = await download(image.url, alice.client.getAccessToken() ?? "");
    expect(jpegSize(jpeg)).toEqual({ width: 1280, height: 720 });
    expect(image.info.size).toBe(jpeg.length);

    // Alice is in a call with the bot: a press of another doorbell of hers does not ring her again.
    await publish("mcc/ring", '{"camera":"mqttcam"}');
    await waitFor(
      "the missed-call line for the busy press",
      () => lastMessage(alice, aliceDm, "Missed call from the doorbell (mqttcam, "),
      { timeoutMs: 20_000 },
    );
    expect(alice.incomingCallCount()).toBe(before + 1);
    expect(call.isEnded()).toBe(false);

    call.hangup();
    await rig.released();
  });

  it("MQTT presses (Home Assistant, generic JSON and exact rules, Frigate) ring alice; malformed payloads ring nobody and crash nothing", async () => {
    const ringing = alice.nextIncomingCall(20_000);
    await publish("mcc/ring", '{"camera":"mqttcam"}');
    const call = await ringing;
    expect(call.roomId).toBe(aliceDm);
    await call.answer();
    await call.waitForFrames(25, 15_000);
    call.hangup();
    await rig.released();

    const before = alice.incomingCallCount();
    await publish("mcc/ring", `{${MARKER}`);
    await publish("mcc/ring", `{"camera":"${MARKER}"}`);
    await publish("mcc/ring", Buffer.alloc(100_000, 0x7b));
    await publish("mcc/ring", Buffer.from([0xff, 0xfe, 0x00, 0x01]));
    await publish("frigate/events", MARKER);
    await publish("frigate/events", '{"type":"new","after":{"camera":7}}');
    await publish("frigate/kitchen/audio/doorbell", "ON");
    await publish("frigate/front_door/audio/doorbell", "OFF");
    await publish("zigbee/doorbell/button1", `[[[${MARKER}`);
    await publish("zigbee/doorbell/button1", '{"action":"double"}');
    await publish("home/doorbell/button", MARKER);

    // Sent after the malformed ones on the same connection (MQTT keeps the order): each rings alice once.
    const presses: [string, string][] = [
      ["zigbee/doorbell/button1", '{"action":"single","battery":97}'],
      ["home/doorbell/button", "pushed"],
      ["frigate/front_door/audio/doorbell", "ON"],
      [
        "frigate/events",
        JSON.stringify({ type: "new", before: {}, after: { id: "1", camera: "front_door", label: "person", score: 0.8 } }),
      ],
    ];
    for (const [i, [topic, payload]] of presses.entries()) {
      const next = alice.nextIncomingCall(20_000);
      await publish(topic, payload);
      const rung: IncomingCall = await next;
      expect(alice.incomingCallCount(), topic).toBe(before + i + 1);
      rung.reject();
      await rig.released();
    }
    const health = await fetch(`${baseUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(readFileSync(logFile, "utf8")).toContain('"MQTT message ignored"');
  });

  it("with no direct chat, the bot creates one (unencrypted) and rings there; nobody answers: a missed-call message", async () => {
    const ringing = bob.nextIncomingCall(30_000);
    expect((await ring("missed", WEBHOOK_TOKEN)).status).toBe(202);
    const call = await ringing;
    const bobDm = call.roomId;
    const room = bob.client.getRoom(bobDm);
    expect(
      room
        ?.getJoinedMembers()
        .map((m) => m.userId)
        .sort(),
    ).toEqual([bob.userId, bot.userId].sort());
    // No encryption state event in the room (the homeserver answers 404).
    const encryption = await bob.client.getStateEvent(bobDm, "m.room.encryption", "").then(
      () => "encrypted",
      (err: unknown) => (err as { errcode?: string }).errcode,
    );
    expect(encryption).toBe("M_NOT_FOUND");
    const direct = await fetch(`${synapse.baseUrl}/_matrix/client/v3/user/${encodeURIComponent(bot.userId)}/account_data/m.direct`, {
      headers: { authorization: `Bearer ${bot.accessToken}` },
    });
    expect(((await direct.json()) as Record<string, string[]>)[bob.userId]).toContain(bobDm);

    // Nobody answers: the bot hangs up when the lifetime is over and says so.
    const missed = await waitFor("the missed-call message", () => lastMessage(bob, bobDm, "Missed call from the doorbell (missed, "), {
      timeoutMs: LIFETIME_MS + 15_000,
    });
    expect(missed).toMatch(/^Missed call from the doorbell \(missed, \d\d:\d\d\)$/);
    expect(lastMessage(bob, bobDm, "Doorbell: missed, ")).toBeDefined();
    await waitFor("the snapshot in bob's DM", () => images(bob, bobDm)[0], { timeoutMs: 20_000 });
    const hangup = bob.callEvents(bobDm).find((e) => e.type === "m.call.hangup" && e.sender === bot.userId);
    expect(hangup?.content["reason"]).toBe("invite_timeout");
    await rig.released();
  }, 60_000);

  it("two users rung at once: alice answers, bob's ringing call is hung up and he is told who answered", async () => {
    const aliceRings = alice.nextIncomingCall(20_000);
    const bobRings = bob.nextIncomingCall(20_000);
    expect((await ring("family", WEBHOOK_TOKEN)).status).toBe(202);
    const [a, b] = await Promise.all([aliceRings, bobRings]);
    expect(a.roomId).toBe(aliceDm);
    await a.answer();
    const end = await b.ended();
    expect(end.hangupParty).toBe("remote");
    expect(end.hangupReason).toBe("user_hangup");
    await a.waitForFrames(25, 15_000);
    const told = await waitFor("bob to be told who answered", () => lastMessage(bob, b.roomId, "Answered by "), { timeoutMs: 15_000 });
    expect(told).toBe("Answered by alice");
    expect(a.isEnded()).toBe(false);
    a.hangup();
    await rig.released();
    expect(lastMessage(alice, aliceDm, "Answered by ")).toBeUndefined();
    expect(bob.messages(b.roomId, bot.userId).filter((m) => m.startsWith("Answered by "))).toHaveLength(1);
  });

  it("the MQTT connection comes back by itself when the broker restarts", async () => {
    const subscribed = logCount("MQTT subscribed");
    await broker.restart();
    await waitFor("the bot to reconnect and subscribe again", () => logCount("MQTT subscribed") > subscribed, { timeoutMs: 30_000 });
    await waitFor("the test's publisher to reconnect", () => publisher.connected, { timeoutMs: 30_000 });
    const next = alice.nextIncomingCall(20_000);
    await publish("mcc/ring", '{"camera":"mqttcam"}');
    const call = await next;
    call.reject();
    await rig.released();
  }, 60_000);

  it("the webhook answers 404 for a camera that is no doorbell, 413 for a large body, 429 past the rate limit", async () => {
    expect((await ring("garage", WEBHOOK_TOKEN)).status).toBe(404);
    expect((await ring("WebhookCam", WEBHOOK_TOKEN)).status).toBe(404);
    expect((await ring("family", WEBHOOK_TOKEN, "x".repeat(5000))).status).toBe(413);
    const statuses: number[] = [];
    for (let i = 0; i < 40 && !statuses.includes(429); i++) statuses.push((await ring("family", "wrong-token-wrong-token-wrong")).status);
    expect(statuses[0]).toBe(401);
    expect(statuses.at(-1)).toBe(429);
    expect(app.calls.activeCount()).toBe(0);
  });

  it("unauthenticated requests from several addresses, each past its limit, do not stop a real press", async () => {
    const statuses = new Set<number>();
    // 5 x 32 = 160 requests: before the token was checked first they drained the shared bucket (4 x 30) and the press got 429.
    for (let a = 2; a <= 6; a++)
      for (let i = 0; i < 32; i++) statuses.add(await postFrom(`127.0.0.${String(a)}`, "mqttcam", "wrong-token-wrong-token-wrong"));
    expect([...statuses].sort()).toEqual([401, 429]);
    const next = alice.nextIncomingCall(20_000);
    expect((await ring("mqttcam", WEBHOOK_TOKEN)).status).toBe(202);
    (await next).reject();
    await rig.released();
  });

  it("never writes the webhook token, the MQTT password, the camera password or payloads to its log", async () => {
    // Every snapshot's ffmpeg has ended too.
    await waitFor("no ffmpeg left", () => liveFfmpegCount() === 0, { timeoutMs: 10_000 });
    const log = readFileSync(logFile, "utf8");
    expect(log.length).toBeGreaterThan(1000);
    for (const secret of [WEBHOOK_TOKEN, broker.password, RTSP_PASSWORD, bot.accessToken, MARKER]) expect(log).not.toContain(secret);
  });
});
