/**
 * Doorbell presses from an MQTT broker. The client reconnects by itself (every 5 s) and subscribes again
 * on each connection; retained messages are old state, not presses, and are ignored. Anything it cannot
 * read is logged once a minute per kind, without its contents, and never stops the bot.
 */
import { randomBytes } from "node:crypto";
import { connect, type IClientOptions, type MqttClient } from "mqtt";
import type { MqttConfig } from "../config/doorbell-schema.ts";
import { redactUrl, type Logger } from "../util/logger.ts";
import { LogOnce } from "./log-once.ts";
import { matchMessage, subscriptionFilters, type CompiledRule } from "./mqtt-rules.ts";
import type { PressResult } from "./ring-policy.ts";

const RECONNECT_MS = 5_000;
/** The largest MQTT packet the broker may send the bot: a press is a few bytes, a Frigate event a few KiB. */
export const MAX_PACKET_BYTES = 65_536;

export class MqttTrigger {
  private client: MqttClient | undefined;
  private readonly logOnce: LogOnce;
  private readonly filters: string[];
  private connectedOnce = false;

  constructor(
    private readonly config: MqttConfig,
    private readonly rules: readonly CompiledRule[],
    private readonly press: (camera: string, source: string) => PressResult,
    private readonly log: Logger,
  ) {
    this.logOnce = new LogOnce(log);
    this.filters = subscriptionFilters(rules);
  }

  start(): void {
    const client = connect(this.config.url, mqttClientOptions(this.config));
    this.client = client;
    const broker = redactUrl(this.config.url);
    client.on("connect", () => {
      this.log.info({ broker, topics: this.filters }, this.connectedOnce ? "MQTT reconnected" : "MQTT connected");
      this.connectedOnce = true;
      if (this.filters.length === 0) return;
      // QoS 0: Debian's mosquitto 2.0.11 leaks an in-flight slot for every QoS 1 message it drops for being over the
      // bot's maximumPacketSize; after 20 (max_inflight_messages) it delivered nothing more on that connection. Measured:
      // 25 oversized QoS 1 messages, then 30 presses: 0 arrived at QoS 1, 30 at QoS 0. The session is clean either way,
      // so QoS 1 bought no redelivery after a reconnect.
      client.subscribe(this.filters, { qos: 0 }, (err) => {
        if (err) this.logOnce.warn("subscribe", { err }, "MQTT subscribe failed");
        else this.log.info({ topics: this.filters.length }, "MQTT subscribed");
      });
    });
    client.on("message", (topic, payload, packet) => {
      try {
        this.onMessage(topic, payload, packet.retain);
      } catch (err: unknown) {
        this.logOnce.warn("handler", { err }, "MQTT message handling failed");
      }
    });
    client.on("error", (err) => {
      this.logOnce.warn(`error ${err.name} ${err.message.slice(0, 40)}`, { broker, err }, "MQTT error");
    });
    client.on("offline", () => {
      this.logOnce.warn("offline", { broker, retryMs: RECONNECT_MS }, "MQTT broker unreachable; reconnecting");
    });
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    const shortTopic = topic.slice(0, 128);
    if (retained) {
      this.log.debug({ topic: shortTopic }, "retained MQTT message ignored (state, not a press)");
      return;
    }
    const result = matchMessage(this.rules, topic, payload);
    for (const bad of result.malformed) {
      this.logOnce.warn(
        `malformed ${bad.source} ${bad.reason}`,
        { topic: shortTopic, source: bad.source, reason: bad.reason, bytes: payload.length },
        "MQTT message ignored",
      );
    }
    for (const camera of result.cameras) {
      const outcome = this.press(camera, "mqtt");
      // Only a press that rings is worth an info line: the ring policy already said why the others did not ring.
      this.log[outcome === "ringing" ? "info" : "debug"]({ camera, topic: shortTopic, outcome }, "doorbell pressed over MQTT");
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.endAsync(true);
  }
}

/** The mqtt.js options of the bot's connection. */
export function mqttClientOptions(config: MqttConfig): IClientOptions {
  const tls = config.tls;
  return {
    clientId: config.clientId ?? `matrix-camera-call-${randomBytes(4).toString("hex")}`,
    reconnectPeriod: RECONNECT_MS,
    connectTimeout: 10_000,
    clean: true,
    resubscribe: false,
    // MQTT 5, so the broker can be told the largest packet the bot takes (Debian's mosquitto 2.0 drops larger
    // messages for this client). Under 3.1.1 mqtt-packet buffered a publish of up to 256 MB before the rules'
    // 64 KiB payload check could refuse it.
    protocolVersion: 5,
    properties: { maximumPacketSize: MAX_PACKET_BYTES },
    ...(config.username !== undefined ? { username: config.username } : {}),
    ...(config.password !== undefined ? { password: config.password } : {}),
    // Used by mqtts:// and wss:// only; without ca, Node's CA list decides.
    ...(tls !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
    ...(tls?.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls?.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls?.key !== undefined ? { key: tls.key } : {}),
  };
}
