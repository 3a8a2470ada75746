/**
 * Validates m.call.* event content against the Matrix spec's own JSON Schemas, vendored unmodified in
 * test/fixtures/matrix-spec/ (see the README there).
 *
 * What is checked: `type` against the event schema's `properties.type`, and `content` against its
 * `properties.content` (including the `allOf` with core-event-schema/call_event.yaml and the
 * components/sdp_stream_metadata.yaml references). The room-event envelope (event_id, sender,
 * origin_server_ts, room_id from core-event-schema/room_event.yaml) is not required: the bot sends content,
 * the homeserver adds the rest.
 *
 * One deliberate relaxation, from the spec prose (voip_events.md and the description of `version` in
 * call_event.yaml): "implementations must accept an integer 0" for `version`, and version 0 predates
 * `party_id`. So content whose `version` is the integer 0 is validated against a copy of the schemas in which
 * call_event.yaml's `version` is `const: 0` and `party_id` is not required. Everything else is exactly as the
 * schemas say, for version 0 too: e.g. m.call.hangup's `reason` is required (our bot always sends one) even
 * though the prose says a missing reason must be read as `user_hangup`; a numeric `version: 1` fails
 * (`type: string`) though the prose says receivers treat it as "1"; and the string "0" is just a string, so it
 * is validated as version "1" content (party_id required), which is also how matrix-js-sdk treats it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020, type AnySchemaObject, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import { parse as parseYaml } from "yaml";

/** The vendored copy of matrix-org/matrix-spec (same relative paths as upstream). */
export const SPEC_FIXTURES_DIR = fileURLToPath(new URL("../fixtures/matrix-spec/", import.meta.url));
const SCHEMA_DIR = join(SPEC_FIXTURES_DIR, "data", "event-schemas", "schema");

/** The event types the vendored schemas describe. */
export const CALL_EVENT_TYPES = [
  "m.call.invite",
  "m.call.candidates",
  "m.call.answer",
  "m.call.select_answer",
  "m.call.reject",
  "m.call.negotiate",
  "m.call.hangup",
  "m.call.sdp_stream_metadata_changed",
] as const;

// Schema ids only give the relative $refs (core-event-schema/call_event.yaml, ../components/…) a base to resolve
// against; nothing is fetched. Two trees: the schemas as published, and the version-0 variant.
const BASE_V1 = "https://matrix-spec.invalid/v1/data/event-schemas/schema/";
const BASE_V0 = "https://matrix-spec.invalid/v0/data/event-schemas/schema/";
const CALL_EVENT_SCHEMA = "core-event-schema/call_event.yaml";

function listYaml(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return listYaml(full);
    return entry.name.endsWith(".yaml") ? [full] : [];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The version-0 reading of call_event.yaml: integer 0 accepted, party_id optional. */
function relaxForVersion0(callEvent: AnySchemaObject): AnySchemaObject {
  const properties = isRecord(callEvent["properties"]) ? callEvent["properties"] : {};
  const version = isRecord(properties["version"]) ? properties["version"] : {};
  const required = Array.isArray(callEvent["required"]) ? (callEvent["required"] as unknown[]) : [];
  return {
    ...callEvent,
    properties: { ...properties, version: { ...version, type: "integer", const: 0 } },
    required: required.filter((name) => name !== "party_id"),
  };
}

interface Validators {
  v1: Map<string, ValidateFunction>;
  v0: Map<string, ValidateFunction>;
}

let validators: Validators | undefined;

function build(): Validators {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // Matrix's custom formats: the schemas pair each with a `pattern`, which is what we check.
  for (const format of ["mx-user-id", "mx-room-id", "mx-event-id", "mx-server-name", "int64"]) ajv.addFormat(format, true);

  for (const file of listYaml(SCHEMA_DIR)) {
    const rel = relative(SCHEMA_DIR, file).split(sep).join("/");
    const schema = parseYaml(readFileSync(file, "utf8")) as AnySchemaObject;
    ajv.addSchema({ ...schema, $id: BASE_V1 + rel });
    ajv.addSchema({ ...(rel === CALL_EVENT_SCHEMA ? relaxForVersion0(schema) : schema), $id: BASE_V0 + rel });
  }

  const compileFor = (base: string): Map<string, ValidateFunction> =>
    new Map(
      CALL_EVENT_TYPES.map((type) => {
        const id = `${base}${type}.yaml`;
        const wrapper = {
          type: "object",
          required: ["type", "content"],
          properties: {
            type: { $ref: `${id}#/properties/type` },
            content: { $ref: `${id}#/properties/content` },
          },
        };
        return [type, ajv.compile(wrapper)];
      }),
    );
  return { v1: compileFor(BASE_V1), v0: compileFor(BASE_V0) };
}

function describeError(e: ErrorObject): string {
  const where = e.instancePath === "" ? "event" : e.instancePath.slice(1).replaceAll("/", ".");
  const params = e.params as Record<string, unknown>;
  const allowed = Array.isArray(params["allowedValues"]) ? ` (${params["allowedValues"].join(", ")})` : "";
  return `${where} ${e.message ?? "is invalid"}${allowed}`;
}

/** Validates an m.call.* event's type and content against the vendored spec schemas (see the module comment). */
export function validateCallEvent(type: string, content: unknown): { valid: boolean; errors: string[] } {
  validators ??= build();
  const version0 = isRecord(content) && content["version"] === 0;
  const validate = (version0 ? validators.v0 : validators.v1).get(type);
  if (!validate) return { valid: false, errors: [`unknown call event type ${JSON.stringify(type)}`] };
  const valid = validate({ type, content });
  return { valid, errors: valid ? [] : (validate.errors ?? []).map(describeError) };
}
