/**
 * The MQTT trigger against a real broker (Debian's mosquitto 2.0, test/harness/mosquitto.ts): the real MqttTrigger and
 * rules; the press behind them only records what it was given. The bot speaks MQTT 5 and tells the broker its
 * maximum packet size, so an oversized publish never reaches it (before, it was received whole and only then refused).
 */
import { connectAsync, type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mqttSchema } from "../../src/config/doorbell-schema.ts";
import { MqttTrigger } from "../../src/doorbell/mqtt.ts";
import { compileRules } from "../../src/doorbell/mqtt-rules.ts";
import { createLogger } from "../../src/util/logger.ts";
import { startMosquitto, type Mosquitto } from "../harness/mosquitto.ts";
import { waitFor } from "../harness/wait.ts";

let broker: Mosquitto;
let publisher: MqttClient;
let trigger: MqttTrigger;
const presses: string[] = [];
const lines: { msg: string; bytes?: number; reason?: string }[] = [];

beforeAll(async () => {
  broker = await startMosquitto();
  const config = mqttSchema.parse({
    url: broker.url,
    username: broker.username,
    password: broker.password,
    homeAssistant: { topic: "mcc/ring" },
  });
  const log = createLogger({ level: "debug", destination: { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string }) } });
  trigger = new MqttTrigger(
    config,
    compileRules(config, new Set(["door"])),
    (camera) => {
      presses.push(camera);
      return "ringing";
    },
    log,
  );
  trigger.start();
  await waitFor("the trigger's subscription", () => lines.some((l) => l.msg === "MQTT subscribed"));
  publisher = await connectAsync(broker.url, {
    username: broker.username,
    password: broker.password,
    clientId: "doorbell-mqtt-test",
    protocolVersion: 5,
  });
}, 60_000);

afterAll(async () => {
  await publisher.endAsync();
  await trigger.stop();
  await broker.stop();
});

describe("the MQTT trigger", () => {
  it("never receives a publish over 64 KiB (the broker drops it for the bot) and keeps its connection", async () => {
    await publisher.publishAsync("mcc/ring", Buffer.alloc(100_000, 0x7b), { qos: 1 });
    await publisher.publishAsync("mcc/ring", "{not json", { qos: 1 });
    await publisher.publishAsync("mcc/ring", '{"camera":"door"}', { qos: 1 });
    // One connection keeps the order: once the press is here, the two before it were delivered or dropped.
    await waitFor("the press", () => presses.length === 1);
    const ignored = lines.filter((l) => l.msg === "MQTT message ignored");
    // The small malformed one arrived and was refused; the 100 KB one never arrived.
    expect(ignored.map((l) => l.bytes)).toEqual([9]);
    expect(lines.filter((l) => l.msg === "MQTT connected" || l.msg === "MQTT reconnected")).toHaveLength(1);
    expect(lines.filter((l) => l.msg === "MQTT error")).toEqual([]);
  });

  it("still gets presses after many oversized QoS 1 publishes (mosquitto 2.0 stalled a QoS 1 subscription after 20)", async () => {
    for (let i = 0; i < 30; i++) await publisher.publishAsync("mcc/ring", Buffer.alloc(100_000, 0x41), { qos: 1 });
    const before = presses.length;
    for (let i = 0; i < 3; i++) await publisher.publishAsync("mcc/ring", '{"camera":"door"}', { qos: 1 });
    await waitFor("three more presses", () => presses.length === before + 3, { timeoutMs: 10_000 });
    expect(lines.filter((l) => l.msg === "MQTT reconnected")).toEqual([]);
  });
});
