/** MQTT doorbell rules: topic filters, generic rules (exact payload, JSON field), and the Frigate and Home Assistant presets. */
import { describe, expect, it } from "vitest";
import { mqttSchema } from "../../src/config/doorbell-schema.ts";
import {
  compileRules,
  matchMessage,
  MAX_PAYLOAD_BYTES,
  subscriptionFilters,
  topicMatches,
  valueAtPath,
} from "../../src/doorbell/mqtt-rules.ts";

const doorbells = new Set(["frontdoor", "garage"]);
const rulesOf = (mqtt: Record<string, unknown>) => compileRules(mqttSchema.parse({ url: "mqtt://127.0.0.1:1883", ...mqtt }), doorbells);
const send = (rules: ReturnType<typeof rulesOf>, topic: string, payload: string | Buffer) =>
  matchMessage(rules, topic, typeof payload === "string" ? Buffer.from(payload) : payload);

describe("topicMatches", () => {
  it.each([
    ["a/b/c", "a/b/c", true],
    ["a/b/c", "a/b", false],
    ["a/b", "a/b/c", false],
    ["a/+/c", "a/x/c", true],
    ["a/+/c", "a/x/y/c", false],
    ["a/+", "a/", true],
    ["a/#", "a", true],
    ["a/#", "a/b/c", true],
    ["#", "anything/at/all", true],
    ["#", "$SYS/broker", false],
    ["+/broker", "$SYS/broker", false],
    ["$SYS/#", "$SYS/broker", true],
    ["A/b", "a/b", false],
  ])("%s against %s is %s", (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe("valueAtPath", () => {
  it("walks objects and arrays, and finds nothing where there is nothing", () => {
    const v: unknown = { after: { label: "doorbell", zones: ["porch"] }, n: 1 };
    expect(valueAtPath(v, ["after", "label"])).toBe("doorbell");
    expect(valueAtPath(v, ["after", "zones", "0"])).toBe("porch");
    expect(valueAtPath(v, ["after", "zones", "x"])).toBeUndefined();
    expect(valueAtPath(v, ["n", "deeper"])).toBeUndefined();
    expect(valueAtPath(v, ["missing"])).toBeUndefined();
    expect(valueAtPath("text", ["a"])).toBeUndefined();
    expect(valueAtPath(JSON.parse('{"__proto__":{"x":1}}'), ["toString"])).toBeUndefined();
  });
});

describe("generic rules", () => {
  const rules = rulesOf({
    rules: [
      { topic: "home/doorbell/button", payload: "pushed", camera: "frontdoor" },
      { topic: "zigbee/+/action", json: { path: "action", equals: "single" }, camera: "garage" },
      { topic: "any/press", camera: "garage" },
    ],
  });

  it("an exact payload rings (white space around it ignored); another payload does not", () => {
    expect(send(rules, "home/doorbell/button", "pushed")).toEqual({ cameras: ["frontdoor"], malformed: [] });
    expect(send(rules, "home/doorbell/button", " pushed\n").cameras).toEqual(["frontdoor"]);
    expect(send(rules, "home/doorbell/button", "PUSHED")).toEqual({ cameras: [], malformed: [] });
    expect(send(rules, "home/doorbell/other", "pushed")).toEqual({ cameras: [], malformed: [] });
  });

  it("a JSON field equal to the value rings; a different value does not; no JSON is malformed", () => {
    expect(send(rules, "zigbee/button1/action", '{"action":"single","battery":90}').cameras).toEqual(["garage"]);
    expect(send(rules, "zigbee/button1/action", '{"action":"double"}')).toEqual({ cameras: [], malformed: [] });
    expect(send(rules, "zigbee/button1/action", '{"action":1}').cameras).toEqual([]);
    expect(send(rules, "zigbee/button1/action", "{not json").malformed).toEqual([{ source: "rules[1]", reason: "payload is not JSON" }]);
  });

  it("a rule without a payload condition rings on any message", () => {
    expect(send(rules, "any/press", "").cameras).toEqual(["garage"]);
  });

  it("payloads over the limit are not read", () => {
    const big = Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x61);
    const result = send(rules, "any/press", big);
    expect(result.cameras).toEqual([]);
    expect(result.malformed[0]?.reason).toContain("larger than");
  });

  it("subscribes to each filter once", () => {
    expect(subscriptionFilters(rules)).toEqual(["home/doorbell/button", "zigbee/+/action", "any/press"]);
  });
});

describe("the Frigate preset", () => {
  const rules = rulesOf({ frigate: { eventLabels: ["person"], cameraMap: { front_door: "frontdoor" } } });

  it("subscribes to the audio doorbell topic and the events", () => {
    expect(subscriptionFilters(rules)).toEqual(["frigate/+/audio/doorbell", "frigate/events"]);
  });

  it("ON from the audio detector rings the mapped camera, OFF does not", () => {
    expect(send(rules, "frigate/front_door/audio/doorbell", "ON").cameras).toEqual(["frontdoor"]);
    expect(send(rules, "frigate/garage/audio/doorbell", "ON").cameras).toEqual(["garage"]);
    expect(send(rules, "frigate/front_door/audio/doorbell", "OFF")).toEqual({ cameras: [], malformed: [] });
    expect(send(rules, "frigate/kitchen/audio/doorbell", "ON").malformed).toHaveLength(1);
  });

  it("a new event with a listed label rings; updates, other labels and garbage do not", () => {
    const event = (type: string, camera: string, label: string): string =>
      JSON.stringify({ type, before: {}, after: { id: "1", camera, label, score: 0.9 } });
    expect(send(rules, "frigate/events", event("new", "front_door", "person")).cameras).toEqual(["frontdoor"]);
    expect(send(rules, "frigate/events", event("update", "front_door", "person")).cameras).toEqual([]);
    expect(send(rules, "frigate/events", event("new", "front_door", "car")).cameras).toEqual([]);
    expect(send(rules, "frigate/events", event("new", "kitchen", "person")).cameras).toEqual([]);
    expect(send(rules, "frigate/events", '{"type":"new","after":{"camera":3}}').malformed).toEqual([
      { source: "frigate events", reason: "not a Frigate event" },
    ]);
  });

  it("a custom prefix and labels", () => {
    const custom = rulesOf({ frigate: { topicPrefix: "nvr/frigate", audioLabels: ["doorbell", "ding-dong"] } });
    expect(subscriptionFilters(custom)).toEqual(["nvr/frigate/+/audio/doorbell", "nvr/frigate/+/audio/ding-dong"]);
    expect(send(custom, "nvr/frigate/frontdoor/audio/ding-dong", "ON").cameras).toEqual(["frontdoor"]);
  });
});

describe("the Home Assistant preset", () => {
  const rules = rulesOf({ homeAssistant: { topic: "matrix-camera-call/ring" } });

  it('{"camera":"frontdoor"} or the bare name rings that camera', () => {
    expect(send(rules, "matrix-camera-call/ring", '{"camera":"frontdoor"}').cameras).toEqual(["frontdoor"]);
    expect(send(rules, "matrix-camera-call/ring", "garage").cameras).toEqual(["garage"]);
  });

  it("unknown cameras and other shapes are malformed", () => {
    expect(send(rules, "matrix-camera-call/ring", '{"camera":"kitchen"}').malformed).toEqual([
      { source: "homeAssistant", reason: "unknown doorbell camera" },
    ]);
    expect(send(rules, "matrix-camera-call/ring", "[1,2]").malformed[0]?.reason).toContain("payload is not");
    expect(send(rules, "matrix-camera-call/ring", "\u0000\u00ff").cameras).toEqual([]);
  });
});

describe("two rules for one message", () => {
  it("ring each camera once", () => {
    const rules = rulesOf({
      rules: [
        { topic: "bell", camera: "frontdoor" },
        { topic: "#", payload: "x", camera: "frontdoor" },
      ],
      homeAssistant: { topic: "bell" },
    });
    expect(send(rules, "bell", "x").cameras).toEqual(["frontdoor"]);
  });
});
