/**
 * Fuzzing the doorbell's ways in, for real (fast-check samples with fixed seeds): requests to the bot's HTTP listener
 * (well-formed ones with arbitrary methods, paths, tokens, headers and bodies, and raw bytes on a TCP socket), and
 * MQTT messages on a real mosquitto (arbitrary topics under the subscribed ones, arbitrary payloads up to 100 KB,
 * retained or not). Nothing may ring, crash, reject unhandled or drop the MQTT connection; every answer is one of
 * the webhook's; afterwards a real press by each way still rings.
 */
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import fc from "fast-check";
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { compileRules, matchMessage } from "../../src/doorbell/mqtt-rules.ts";
import type { Callee } from "../harness/callee.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { reportFigure } from "../harness/figures.ts";
import { startMosquitto, type Mosquitto } from "../harness/mosquitto.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import { waitFor } from "../harness/wait.ts";

const TOKEN = "fuzz-webhook-token-0123456789abcdef";
let rig: Rig;
let broker: Mosquitto;
let app: App;
let alice: Callee;
let publisher: MqttClient;
let base: string;
let logFile: string;
const cleanups: (() => Promise<unknown>)[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

const logCount = (msg: string): number => readFileSync(logFile, "utf8").split(`"msg":"${msg}"`).length - 1;

/** Raw bytes to the listener; resolves with the status line's code, or 0 when the connection closed without one. */
function rawRequest(bytes: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port: app.http?.port ?? 0 });
    let answer = "";
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0));
    };
    // A request that is not finished (no end of headers) gets no answer: the socket is closed after a while.
    const timer = setTimeout(done, 1000);
    socket.on("data", (d: Buffer) => {
      answer += d.toString("latin1");
      if (answer.includes("\r\n")) done();
    });
    socket.on("error", done);
    socket.on("close", done);
    socket.write(bytes);
  });
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  rig = await startRig({
    name: "fuzz-doorbell",
    botName: "fuzzbell",
    users: ["alice"],
    env: { WEBHOOK_TOKEN: TOKEN, MQTT_PASSWORD: broker.password },
    config: ({ users }) => ({
      cameras: [{ name: "door", url: "demo://clock", ring: { users: [users["alice"]?.userId], debounceMs: 0, snapshot: false } }],
      calls: { inviteLifetimeMs: 10_000 },
      http: { listen: "127.0.0.1:0" },
      triggers: {
        webhook: { token: "${WEBHOOK_TOKEN}", rateLimit: { burst: 1000, perMinute: 6000 } },
        mqtt: {
          url: broker.url,
          username: broker.username,
          password: "${MQTT_PASSWORD}",
          rules: [
            { topic: "home/bell/+", json: { path: "action", equals: "single" }, camera: "door" },
            { topic: "home/button", payload: "pushed", camera: "door" },
          ],
          frigate: { eventLabels: ["person"] },
          homeAssistant: { topic: "mcc/ring" },
        },
      },
    }),
  });
  cleanups.push(() => rig.stop());
  ({ app, logFile } = rig);
  base = `http://127.0.0.1:${app.http?.port ?? 0}`;
  alice = rig.callee("alice");
  publisher = await connectAsync(broker.url, { username: broker.username, password: broker.password, clientId: "fuzz-publisher" });
  cleanups.push(() => publisher.endAsync());
  await waitFor("the bot's MQTT subscription", () => logCount("MQTT subscribed") === 1, { timeoutMs: 15_000 });
}, 180_000);

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeE2E("fuzzing the doorbell", () => {
  it("webhook: 150 fuzzed HTTP requests and 100 raw byte streams ring nothing and get only the webhook's answers", async () => {
    const request = fc.record({
      method: fc.constantFrom("POST", "POST", "POST", "POST", "GET", "PUT", "OPTIONS"),
      path: fc.oneof(
        { weight: 2, arbitrary: fc.constant("/ring/door") },
        { weight: 2, arbitrary: fc.string({ maxLength: 40 }).map((s) => `/ring/${encodeURIComponent(s)}`) },
        fc.string({ maxLength: 20 }).map((s) => `/${encodeURIComponent(s)}`),
      ),
      authorization: fc.oneof(
        fc.constant(undefined),
        fc.constant(`Bearer ${TOKEN}`),
        fc.constant(`Basic ${TOKEN}`),
        fc.constant(`Bearer ${TOKEN}x`),
        fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
      ),
      contentType: fc.constantFrom("application/json", "text/plain", "application/octet-stream", "multipart/form-data; boundary=x"),
      body: fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ minLength: 4000, maxLength: 9000 })),
    });
    const requests = fc
      .sample(request, { numRuns: 150, seed: 2024 })
      .filter((r) => !(r.method === "POST" && r.path === "/ring/door" && r.authorization === `Bearer ${TOKEN}`));
    const statuses = new Map<number, number>();
    const rings = alice.incomingCallCount();
    for (const r of requests) {
      const headers: Record<string, string> = { "content-type": r.contentType };
      if (r.authorization !== undefined) headers["authorization"] = r.authorization;
      const res = await fetch(`${base}${r.path}`, {
        method: r.method,
        headers,
        ...(r.method === "GET" || r.method === "OPTIONS" ? {} : { body: r.body }),
      }).catch(() => undefined);
      const status = res?.status ?? 0;
      await res?.body?.cancel();
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    const raw = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        fc
          .tuple(
            fc.constantFrom(
              "POST /ring/door HTTP/1.1",
              "POST /ring/door HTTP/1.0",
              "GET /healthz HTTP/1.1",
              "POST /ring/%00 HTTP/1.1",
              "BREW /ring/door HTTP/9.9",
            ),
            fc.array(fc.string({ maxLength: 40 }), { maxLength: 6 }),
            fc.string({ maxLength: 200 }),
          )
          .map(([line, headers, body]) => new TextEncoder().encode(`${line}\r\nHost: x\r\n${headers.join("\r\n")}\r\n\r\n${body}`)),
      ),
      { numRuns: 100, seed: 99 },
    );
    const rawStatuses = new Map<number, number>();
    for (const bytes of raw) {
      const status = await rawRequest(bytes);
      rawStatuses.set(status, (rawStatuses.get(status) ?? 0) + 1);
    }
    reportFigure("fuzz: webhook", {
      requests: requests.length,
      statuses: Object.fromEntries(statuses),
      raw: raw.length,
      rawStatuses: Object.fromEntries(rawStatuses),
    });
    for (const status of statuses.keys()) expect([200, 400, 401, 404, 405, 413]).toContain(status);
    for (const status of rawStatuses.keys()) expect([0, 200, 400, 401, 404, 405, 413, 505]).toContain(status);
    expect(alice.incomingCallCount()).toBe(rings);
    expect(app.calls.activeCount()).toBe(0);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    // The right press still rings.
    const next = alice.nextIncomingCall(30_000);
    expect((await fetch(`${base}/ring/door`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(202);
    (await next).reject();
    await rig.released();
    expect(unhandled).toEqual([]);
  }, 180_000);

  it("MQTT: 200 fuzzed messages on the subscribed topics ring nothing and keep the connection; then a real press rings", async () => {
    const mqtt = app.config.triggers.mqtt;
    if (mqtt === undefined) throw new Error("no MQTT trigger");
    const rules = compileRules(mqtt, new Set(["door"]));
    const level = fc.oneof(
      fc.constantFrom("home", "bell", "button", "frigate", "door", "audio", "doorbell", "events", "mcc", "ring", "x", ""),
      fc.string({ maxLength: 8 }).filter((s) => !/[+#\0]/.test(s) && !s.startsWith("$")),
    );
    const topic = fc
      .oneof(
        fc.constantFrom("home/bell/1", "home/button", "frigate/door/audio/doorbell", "frigate/events", "mcc/ring"),
        fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join("/")),
      )
      .filter((t) => t.length > 0);
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
      fc
        .constantFrom('{"action":"double"}', '{"camera":"garage"}', '{"type":"new","after":{"camera":"door","label":"cat"}}', "OFF", "{")
        .map((s) => Buffer.from(s)),
      fc.constant(Buffer.alloc(100_000, 0x41)),
    );
    const messages = fc
      .sample(fc.record({ topic, payload, retain: fc.boolean() }), { numRuns: 200, seed: 31337 })
      // A message that is a real press would rightly ring: those are the rules' tests, not this one's.
      .filter((m) => m.retain || matchMessage(rules, m.topic, Buffer.from(m.payload)).cameras.length === 0);
    const rings = alice.incomingCallCount();
    const connects = logCount("MQTT connected") + logCount("MQTT reconnected");
    for (const m of messages) await publisher.publishAsync(m.topic, Buffer.from(m.payload), { qos: 1, retain: m.retain });
    // Messages of one connection arrive in order: once the press after them rings, every fuzzed one was handled.
    const next = alice.nextIncomingCall(30_000);
    await publisher.publishAsync("home/button", "pushed", { qos: 1 });
    (await next).reject();
    await rig.released();
    reportFigure("fuzz: MQTT", { messages: messages.length, ignoredLogged: logCount("MQTT message ignored") });
    expect(alice.incomingCallCount()).toBe(rings + 1);
    expect(logCount("MQTT connected") + logCount("MQTT reconnected")).toBe(connects);
    expect(logCount("MQTT message ignored")).toBeGreaterThan(0);
    expect(unhandled).toEqual([]);
  }, 180_000);
});
