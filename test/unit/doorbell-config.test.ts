/** Doorbell configuration: ring defaults, triggers, secret files, and the checks across keys. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.ts";
import { mqttClientOptions } from "../../src/doorbell/mqtt.ts";

const TOKEN = "webhook-token-0123456789";

function config(
  extra: Record<string, unknown> = {},
  ring: Record<string, unknown> = { users: ["@alice:example.org"] },
): Record<string, unknown> {
  return {
    homeserver: { url: "https://matrix.example.org", accessToken: "syt_token" },
    allowedUsers: ["@alice:example.org", "*:family.example.org"],
    cameras: [
      { name: "frontdoor", url: "rtsp://10.0.0.2/stream", ring },
      { name: "garden", url: "rtsp://10.0.0.3/stream" },
    ],
    http: { listen: "127.0.0.1:0" },
    ...extra,
  };
}

function problems(input: unknown, baseDir = "/srv/mcc"): string[] {
  try {
    parseConfig(input, { env: {}, baseDir });
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.key}: ${p.message}`);
    throw err;
  }
  return [];
}

describe("doorbell configuration", () => {
  it("fills the ring defaults: 15 s debounce, snapshot on", () => {
    const parsed = parseConfig(config(), { env: {} });
    expect(parsed.cameras[0]?.ring).toEqual({ users: ["@alice:example.org"], debounceMs: 15_000, snapshot: true });
    expect(parsed.triggers).toEqual({ pressLimit: { burst: 4, perMinute: 4 } });
  });

  it("reads the webhook token and the MQTT password from files", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-doorbell-config-"));
    writeFileSync(path.join(dir, "token"), `${TOKEN}\n`);
    writeFileSync(path.join(dir, "mqtt"), "mqtt-secret\n");
    const parsed = parseConfig(
      config({
        triggers: { webhook: { tokenFile: "token" }, mqtt: { url: "mqtt://127.0.0.1:1883", username: "bot", passwordFile: "mqtt" } },
      }),
      { env: {}, baseDir: dir },
    );
    expect(parsed.triggers.webhook).toEqual({ token: TOKEN, rateLimit: { burst: 10, perMinute: 20 } });
    expect(parsed.triggers.mqtt?.password).toBe("mqtt-secret");
    expect(parsed.triggers.mqtt).not.toHaveProperty("passwordFile");
    expect(parsed.triggers.mqtt?.rules).toEqual([]);
  });

  it("names each bad doorbell key", () => {
    expect(
      problems(
        config(
          {
            http: {},
            triggers: {
              webhook: { token: "short" },
              mqtt: {
                url: "http://broker",
                rules: [
                  { topic: "a/#/b", camera: "frontdoor" },
                  { topic: "x", camera: "garden" },
                  { topic: "y", camera: "nope" },
                  { topic: "z", camera: "frontdoor", payload: "p", json: { path: "a", equals: 1 } },
                ],
              },
            },
          },
          { users: ["@mallory:evil.example"], debounceMs: -1 },
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^cameras\[0\]\.ring\.debounceMs: /),
      expect.stringMatching(/^triggers\.webhook\.token: must be at least 16 characters/),
      expect.stringMatching(/^triggers\.mqtt\.url: must be a broker URL/),
      expect.stringMatching(/^triggers\.mqtt\.rules\[0\]\.topic: must be an MQTT topic filter/),
      expect.stringMatching(/^triggers\.mqtt\.rules\[3\]\.json: give payload or json, not both/),
    ]);
  });

  it("checks across keys: allowed ring users, known doorbell cameras, a listener for the webhook, one token source", () => {
    expect(
      problems(
        config(
          {
            http: {},
            triggers: {
              webhook: { token: TOKEN },
              mqtt: {
                url: "mqtt://127.0.0.1",
                rules: [
                  { topic: "x", camera: "garden" },
                  { topic: "y", camera: "nope" },
                ],
                frigate: { cameraMap: { front_door: "frontdoor" } },
              },
            },
          },
          { users: ["@bob:family.example.org", "@mallory:evil.example"] },
        ),
      ),
    ).toEqual([
      "cameras[0].ring.users[1]: is not in allowedUsers (the bot calls allowed users only)",
      "triggers.webhook: needs http.listen (the webhook is served by the HTTP listener)",
      "triggers.mqtt.rules[0].camera: camera garden has no ring (who to ring)",
      'triggers.mqtt.rules[1].camera: names no configured camera ("nope")',
    ]);
    expect(problems(config({ triggers: { webhook: {} } }))).toEqual(["triggers.webhook.token: give exactly one of token or tokenFile"]);
    expect(problems(config({ triggers: { webhook: { tokenFile: "missing" } } }))).toEqual([
      expect.stringMatching(/^triggers\.webhook\.tokenFile: cannot read file missing/),
    ]);
  });

  it("reads the MQTT TLS files into ca, cert and key, and passes them to the client with MQTT 5's packet size limit", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-doorbell-tls-"));
    writeFileSync(path.join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
    writeFileSync(path.join(dir, "key.pem"), "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n");
    const tls = { caFile: "ca.pem", cert: "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----", keyFile: "key.pem" };
    const parsed = parseConfig(config({ triggers: { mqtt: { url: "mqtts://broker.example:8883", tls } } }), { env: {}, baseDir: dir });
    const mqtt = parsed.triggers.mqtt;
    if (mqtt === undefined) throw new Error("no mqtt");
    expect(mqtt.tls).toEqual({
      rejectUnauthorized: true,
      ca: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----",
      cert: tls.cert,
      key: "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----",
    });
    const options = mqttClientOptions(mqtt);
    expect(options).toMatchObject({
      protocolVersion: 5,
      properties: { maximumPacketSize: 65_536 },
      rejectUnauthorized: true,
      ca: mqtt.tls?.ca,
      cert: tls.cert,
      key: mqtt.tls?.key,
    });
    expect(mqttClientOptions({ ...mqtt, tls: undefined })).not.toHaveProperty("rejectUnauthorized");
  });

  it("names bad MQTT TLS settings", () => {
    const mqtt = (tls: Record<string, unknown>): Record<string, unknown> =>
      config({ triggers: { mqtt: { url: "mqtts://broker.example", tls } } });
    expect(problems(mqtt({ ca: "x", caFile: "y" }))).toEqual(["triggers.mqtt.tls.ca: give ca or caFile, not both"]);
    expect(problems(mqtt({ certFile: "c" }))).toEqual([
      "triggers.mqtt.tls.cert: a client certificate needs its key, and a key its certificate",
    ]);
    expect(problems(mqtt({ caFile: "missing.pem" }))).toEqual([
      expect.stringMatching(/^triggers\.mqtt\.tls\.caFile: cannot read file missing\.pem/),
    ]);
  });
});
