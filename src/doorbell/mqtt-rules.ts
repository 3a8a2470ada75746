/**
 * MQTT messages to doorbell presses, as pure functions: the generic rules (topic + exact payload or a
 * JSON field) and the Frigate and Home Assistant presets compiled into one list of matchers.
 */
import { z } from "zod";
import type { MqttConfig } from "../config/doorbell-schema.ts";

/** Payloads larger than this are not looked at (a doorbell press is a few bytes). */
export const MAX_PAYLOAD_BYTES = 65_536;

export type RuleOutcome = { kind: "press"; camera: string } | { kind: "no_match" } | { kind: "malformed"; reason: string };

export interface CompiledRule {
  /** Where it came from, for logs: "rules[0]", "frigate audio", "frigate events", "homeAssistant". */
  source: string;
  filter: string;
  match(topic: string, payload: string): RuleOutcome;
}

export interface MessageResult {
  cameras: string[];
  /** Rules whose topic matched but whose payload could not be read. */
  malformed: { source: string; reason: string }[];
}

/** MQTT topic filter matching: "+" one level, "#" the rest; wildcards never match a leading "$" topic. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}

const record = z.record(z.string(), z.unknown());
const array = z.array(z.unknown());

/** The value at a dotted path ("after.label", "items.0.id") of a parsed JSON value; undefined when absent. */
export function valueAtPath(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    const arr = array.safeParse(current);
    if (arr.success) {
      if (!/^\d{1,6}$/.test(key)) return undefined;
      current = arr.data[Number(key)];
      continue;
    }
    const obj = record.safeParse(current);
    if (!obj.success || !Object.hasOwn(obj.data, key)) return undefined;
    current = obj.data[key];
  }
  return current;
}

function parseJson(payload: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(payload) as unknown };
  } catch {
    return { ok: false };
  }
}

const frigateEventSchema = z
  .object({
    type: z.string(),
    after: z.object({ camera: z.string(), label: z.string() }).loose(),
  })
  .loose();

const homeAssistantSchema = z.object({ camera: z.string().min(1).max(64) }).loose();

/** Compiles the configured rules and presets. `doorbells` are the cameras that have a ring policy. */
export function compileRules(
  mqtt: Pick<MqttConfig, "rules" | "frigate" | "homeAssistant">,
  doorbells: ReadonlySet<string>,
): CompiledRule[] {
  const rules: CompiledRule[] = [];
  mqtt.rules.forEach((rule, i) => {
    const path = rule.json?.path.split(".");
    const equals = rule.json?.equals;
    rules.push({
      source: `rules[${i}]`,
      filter: rule.topic,
      match(_topic, payload) {
        if (path !== undefined) {
          const parsed = parseJson(payload);
          if (!parsed.ok) return { kind: "malformed", reason: "payload is not JSON" };
          return valueAtPath(parsed.value, path) === equals ? { kind: "press", camera: rule.camera } : { kind: "no_match" };
        }
        if (rule.payload !== undefined && payload.trim() !== rule.payload) return { kind: "no_match" };
        return { kind: "press", camera: rule.camera };
      },
    });
  });

  const frigate = mqtt.frigate;
  if (frigate !== undefined) {
    const prefix = frigate.topicPrefix.replace(/\/+$/, "");
    const depth = prefix.split("/").length;
    const ours = (name: string): string | undefined => {
      const mapped = frigate.cameraMap[name] ?? name;
      return doorbells.has(mapped) ? mapped : undefined;
    };
    for (const label of frigate.audioLabels) {
      rules.push({
        source: "frigate audio",
        filter: `${prefix}/+/audio/${label}`,
        match(topic, payload) {
          if (payload.trim() !== "ON") return { kind: "no_match" };
          const frigateCamera = topic.split("/")[depth] ?? "";
          const camera = ours(frigateCamera);
          return camera !== undefined
            ? { kind: "press", camera }
            : { kind: "malformed", reason: "Frigate camera is not a doorbell here (see frigate.cameraMap)" };
        },
      });
    }
    if (frigate.eventLabels.length > 0) {
      const labels = new Set(frigate.eventLabels);
      rules.push({
        source: "frigate events",
        filter: `${prefix}/events`,
        match(_topic, payload) {
          const parsed = parseJson(payload);
          const event = parsed.ok ? frigateEventSchema.safeParse(parsed.value) : undefined;
          if (event?.success !== true) return { kind: "malformed", reason: "not a Frigate event" };
          if (event.data.type !== "new" || !labels.has(event.data.after.label)) return { kind: "no_match" };
          const camera = ours(event.data.after.camera);
          return camera !== undefined ? { kind: "press", camera } : { kind: "no_match" };
        },
      });
    }
  }

  const ha = mqtt.homeAssistant;
  if (ha !== undefined) {
    rules.push({
      source: "homeAssistant",
      filter: ha.topic,
      match(_topic, payload) {
        const parsed = parseJson(payload);
        const body = parsed.ok ? homeAssistantSchema.safeParse(parsed.value) : undefined;
        const camera = body?.success === true ? body.data.camera : payload.trim();
        if (doorbells.has(camera)) return { kind: "press", camera };
        return { kind: "malformed", reason: body?.success === true ? "unknown doorbell camera" : 'payload is not {"camera":"<name>"}' };
      },
    });
  }
  return rules;
}

/** Runs one message through every rule whose filter matches its topic. Each camera is pressed once. */
export function matchMessage(rules: readonly CompiledRule[], topic: string, payload: Buffer): MessageResult {
  const result: MessageResult = { cameras: [], malformed: [] };
  const applicable = rules.filter((r) => topicMatches(r.filter, topic));
  if (applicable.length === 0) return result;
  if (payload.length > MAX_PAYLOAD_BYTES) {
    for (const r of applicable) result.malformed.push({ source: r.source, reason: `payload larger than ${MAX_PAYLOAD_BYTES} bytes` });
    return result;
  }
  const text = payload.toString("utf8");
  for (const rule of applicable) {
    const outcome = rule.match(topic, text);
    if (outcome.kind === "press" && !result.cameras.includes(outcome.camera)) result.cameras.push(outcome.camera);
    else if (outcome.kind === "malformed") result.malformed.push({ source: rule.source, reason: outcome.reason });
  }
  return result;
}

/** The distinct topic filters to subscribe to. */
export function subscriptionFilters(rules: readonly CompiledRule[]): string[] {
  return [...new Set(rules.map((r) => r.filter))];
}
