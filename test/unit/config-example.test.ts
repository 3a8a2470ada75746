import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.ts";
import { loadConfigFile } from "../../src/config/load.ts";

const EXAMPLE = fileURLToPath(new URL("../../config/config.example.yaml", import.meta.url));

/** The sample config is checked against the schema, so the two cannot drift apart. */
describe("config/config.example.yaml", () => {
  it("is valid with its environment variables set", () => {
    const config = loadConfigFile(EXAMPLE, {
      MCC_ACCESS_TOKEN: "syt_example",
      FRONTDOOR_PASSWORD: "pw",
      MCC_WEBHOOK_TOKEN: "a-webhook-token-of-32-characters",
      MCC_MQTT_PASSWORD: "mqtt-pw",
    });
    expect(config.homeserver.url).toBe("https://matrix.example.org");
    expect(config.homeserver.accessToken).toBe("syt_example");
    expect(config.cameras.map((c) => c.name)).toEqual(["frontdoor", "demo"]);
    expect(config.cameras[0]?.url).toBe("rtsp://viewer:pw@192.168.1.20:554/stream1");
    expect(config.triggers.webhook?.token).toBe("a-webhook-token-of-32-characters");
    expect(config.triggers.mqtt?.rules.map((r) => r.camera)).toEqual(["frontdoor", "frontdoor"]);
  });

  it("documents every key of the schema", async () => {
    const { readFileSync } = await import("node:fs");
    const text = readFileSync(EXAMPLE, "utf8");
    const keys = new Set<string>();
    const collect = (shape: Record<string, unknown>): void => {
      for (const [key, value] of Object.entries(shape)) {
        keys.add(key);
        const inner = unwrapShape(value);
        if (inner) collect(inner);
      }
    };
    collect(configSchema.shape);
    for (const key of keys) expect(text, `key ${key}`).toMatch(new RegExp(`\\b${key}:`));
  });

  it("names the missing variable when one is unset", () => {
    expect(() =>
      loadConfigFile(EXAMPLE, {
        FRONTDOOR_PASSWORD: "pw",
        MCC_WEBHOOK_TOKEN: "a-webhook-token-of-32-characters",
        MCC_MQTT_PASSWORD: "mqtt-pw",
      }),
    ).toThrow(/homeserver\.accessToken: environment variable MCC_ACCESS_TOKEN is not set/);
  });
});

/** The object shape inside a zod schema wrapped in default/optional/array/refinements, if any. */
function unwrapShape(schema: unknown): Record<string, unknown> | undefined {
  let current: unknown = schema;
  for (let i = 0; i < 8 && current !== null && typeof current === "object"; i++) {
    const s = current as {
      shape?: unknown;
      unwrap?: () => unknown;
      element?: unknown;
      def?: { innerType?: unknown; in?: unknown; schema?: unknown };
    };
    if (s.shape !== undefined && s.shape !== null && typeof s.shape === "object") return s.shape as Record<string, unknown>;
    current = s.element ?? s.def?.innerType ?? s.def?.in ?? s.def?.schema ?? (typeof s.unwrap === "function" ? s.unwrap() : undefined);
  }
  return undefined;
}
