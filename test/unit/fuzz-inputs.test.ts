/**
 * Property-based fuzzing (fast-check) of every other input the bot takes from outside: chat commands, configuration
 * (objects, a valid one with one key broken, arbitrary YAML files), MQTT messages against compiled doorbell rules,
 * and webhook requests. Each input gives a result or the bot's own clear error, never another exception, and never
 * an unhandled rejection.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { pino } from "pino";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mqttSchema } from "../../src/config/doorbell-schema.ts";
import { ConfigError, loadConfigFile, parseConfig } from "../../src/config/load.ts";
import { compileRules, matchMessage, MAX_PAYLOAD_BYTES } from "../../src/doorbell/mqtt-rules.ts";
import { WebhookTrigger } from "../../src/doorbell/webhook.ts";
import { parseCommand } from "../../src/matrix/commands.ts";

const SECRET = "S3CRET-never-in-errors";
const TOP_KEYS = new Set([
  "homeserver",
  "allowedUsers",
  "cameras",
  "calls",
  "media",
  "http",
  "triggers",
  "dataDir",
  "logLevel",
  "(top level)",
  "(yaml)",
  "(file)",
]);
const dir = mkdtempSync(path.join(tmpdir(), "mcc-fuzz-config-"));
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});

afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  rmSync(dir, { recursive: true, force: true });
  expect(unhandled).toEqual([]);
});

/** Any text a person (or a script) could type, with and without the command prefix. */
const typed = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc
    .tuple(
      fc.constantFrom("!", " !", "!!", "！", "\t!"),
      fc.constantFrom("call", "CALL", "switch", "hangup", "stop", "help", "status", "cameras", "list", ""),
      fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 4 }),
    )
    .map(([prefix, word, args]) => [prefix + word, ...args].join(" ")),
  fc.string({ minLength: 4000, maxLength: 5000 }).map((s) => `!call ${s}`),
);

describe("chat commands", () => {
  it("parseCommand never throws and gives a well-formed command or nothing", () => {
    const kinds = new Set(["call", "switch", "cameras", "hangup", "help", "status", "unknown"]);
    fc.assert(
      fc.property(typed, (body) => {
        const command = parseCommand(body);
        if (command === undefined) return;
        expect(body.trim().startsWith("!")).toBe(true);
        expect(kinds.has(command.kind)).toBe(true);
        if (command.kind === "call" || command.kind === "switch") {
          if (command.camera !== undefined) {
            expect(command.camera).toBe(command.camera.toLowerCase());
            expect(command.camera).not.toMatch(/\s/);
          }
        }
        if (command.kind === "unknown") expect(command.word.length).toBeLessThanOrEqual(32);
        expect(parseCommand(body)).toEqual(command);
      }),
      { numRuns: 3000 },
    );
  });
});

/** A valid configuration with every part present. */
function full(): Record<string, unknown> {
  return {
    homeserver: { url: "https://matrix.example.org", accessToken: SECRET, deviceName: "bot" },
    allowedUsers: ["@alice:example.org", "*:example.org"],
    cameras: [
      {
        name: "frontdoor",
        url: `rtsp://viewer:${SECRET}@10.0.0.2/stream`,
        maxWidth: 1280,
        maxHeight: 720,
        maxFps: 25,
        audio: true,
        keepWarm: false,
        hwaccel: "none",
        ring: { users: ["@alice:example.org"], debounceMs: 1000, snapshot: true },
      },
      { name: "garden", url: "rtsp://10.0.0.3/stream" },
    ],
    calls: {
      inviteLifetimeMs: 60_000,
      iceDisconnectedTimeoutMs: 30_000,
      defaultCamera: "garden",
      maxPerUserPerMinute: 6,
      maxConcurrent: 8,
    },
    media: { idleStopMs: 1000 },
    http: { listen: "127.0.0.1:8080" },
    triggers: {
      webhook: { token: `${SECRET}-webhook`, rateLimit: { burst: 10, perMinute: 20 } },
      mqtt: {
        url: "mqtt://10.0.0.4:1883",
        username: "bot",
        password: SECRET,
        rules: [{ topic: "home/bell", payload: "pushed", camera: "frontdoor" }],
        frigate: {},
        homeAssistant: { topic: "mcc/ring" },
      },
    },
    dataDir: "./data",
    logLevel: "info",
  };
}

/** Every key path of a value (objects and arrays), for picking one to break. */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [at];
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [at, ...entries.flatMap(([k, v]) => paths(v, [...at, k]))];
}

function setAt(root: Record<string, unknown>, at: readonly (string | number)[], value: unknown): void {
  let node: unknown = root;
  for (const key of at.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  const last = at.at(-1);
  if (last !== undefined) (node as Record<string | number, unknown>)[last] = value;
}

/** The top-level keys of a configuration input (an object's own keys; none for anything else). */
function topKeysOf(input: unknown): string[] {
  return input !== null && typeof input === "object" && !Array.isArray(input) ? Object.keys(input) : [];
}

/**
 * parseConfig or loadConfigFile: a Config, or a ConfigError whose every problem names a key (one of the input's or
 * the schema's top-level keys, or the whole file: "(top level)", "(yaml)", "(file)"); nothing else.
 */
function outcome(run: () => unknown, inputKeys: readonly string[]): ConfigError | "ok" {
  try {
    run();
    return "ok";
  } catch (err: unknown) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.problems.length).toBeGreaterThan(0);
    for (const p of err.problems) {
      const first = /^[^.[]*/.exec(p.key)?.[0] ?? "";
      expect(TOP_KEYS.has(first) || inputKeys.includes(first), `problem key ${p.key}`).toBe(true);
      expect(p.message.length).toBeGreaterThan(0);
    }
    expect(err.message).not.toContain(SECRET);
    return err;
  }
}

/** The top-level keys of a YAML text; none when it is not YAML (then the error must be about the whole file). */
function yamlTopKeys(yaml: string): string[] {
  try {
    return topKeysOf(parseYaml(yaml));
  } catch {
    return [];
  }
}

const env = { MCC_ACCESS_TOKEN: undefined, MCC_PASSWORD: undefined };

describe("configuration", () => {
  it("parseConfig on arbitrary values: a Config or a ConfigError naming keys", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.anything(), fc.dictionary(fc.constantFrom(...TOP_KEYS), fc.jsonValue({ maxDepth: 3 }))),
        (input) => {
          outcome(() => parseConfig(input, { env, baseDir: dir }), topKeysOf(input));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("a valid configuration with one key broken: the error names that key (or its part of the file)", () => {
    expect(outcome(() => parseConfig(full(), { env, baseDir: dir }), [])).toBe("ok");
    const keyPaths = paths(full()).filter((p) => p.length > 0);
    fc.assert(
      fc.property(
        fc.constantFrom(...keyPaths),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined), fc.string(), fc.constant(`\${NOT_SET_${SECRET.length}}`)),
        (at, value) => {
          const config = full();
          setAt(config, at, value);
          const result = outcome(() => parseConfig(config, { env, baseDir: dir }), []);
          if (result !== "ok")
            expect(
              result.problems.some(
                (p) =>
                  p.key === "(top level)" ||
                  p.key.startsWith(String(at[0])) ||
                  p.key.startsWith("triggers") ||
                  p.key.startsWith("calls") ||
                  p.key.startsWith("http"),
              ),
            ).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("a YAML alias inside its own anchor, or nesting too deep, is a ConfigError naming the key (found by fuzzing: it overflowed the stack)", () => {
    const file = path.join(dir, "cycle.yaml");
    writeFileSync(file, "homeserver: &h { url: https://m.example.org, accessToken: x, self: *h }\n");
    const cyclic = outcome(() => loadConfigFile(file, env), ["homeserver"]);
    expect(cyclic !== "ok" && cyclic.problems).toEqual([
      { key: "homeserver.self", message: "refers to itself (a YAML alias inside its own anchor)" },
    ]);
    let deep: unknown = "x";
    for (let i = 0; i < 100; i++) deep = [deep];
    const nested = outcome(() => parseConfig({ ...full(), dataDir: deep }, { env, baseDir: dir }), []);
    expect(nested !== "ok" && nested.problems[0]?.message).toBe("nested more than 32 levels deep");
  });

  it("loadConfigFile on arbitrary files: a Config or a ConfigError, and no secret quoted back", () => {
    const file = path.join(dir, "config.yaml");
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => toYaml(v)),
      fc.tuple(fc.constantFrom(...paths(full()).filter((p) => p.length > 0)), fc.jsonValue({ maxDepth: 2 })).map(([at, value]) => {
        const config = full();
        setAt(config, at, value);
        return toYaml(config);
      }),
      // Broken YAML around a secret: the parser's error must not quote the line.
      fc.constantFrom(
        `homeserver:\n  accessToken: "${SECRET}\n  url: [`,
        `a: &x [*x, ${SECRET}]`,
        `{ ${SECRET}: : }`,
        `\t- ${SECRET}\n  -\tx: y: z`,
      ),
    );
    fc.assert(
      fc.property(text, (yaml) => {
        writeFileSync(file, yaml);
        outcome(() => loadConfigFile(file, env), yamlTopKeys(yaml));
      }),
      { numRuns: 800 },
    );
    // 800 file writes and YAML parses: ~1.5 s alone, over 5 s when the 2 cores are busy with e2e runs beside it.
  }, 30_000);
});

describe("MQTT messages", () => {
  const doorbells = new Set(["frontdoor", "garage"]);
  const rules = compileRules(
    mqttSchema.parse({
      url: "mqtt://127.0.0.1:1883",
      rules: [
        { topic: "home/doorbell/button", payload: "pushed", camera: "frontdoor" },
        { topic: "zigbee/+/action", json: { path: "action", equals: "single" }, camera: "garage" },
        { topic: "any/#", camera: "garage" },
      ],
      frigate: { eventLabels: ["person"], cameraMap: { front_door: "frontdoor" } },
      homeAssistant: { topic: "mcc/ring" },
    }),
    doorbells,
  );
  const level = fc.oneof(
    fc.constantFrom(
      "home",
      "doorbell",
      "button",
      "zigbee",
      "x",
      "action",
      "frigate",
      "front_door",
      "audio",
      "events",
      "mcc",
      "ring",
      "any",
      "",
      "+",
      "#",
      "$SYS",
    ),
    fc.string({ maxLength: 12 }),
  );
  const topic = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join("/"));
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
    fc
      .constantFrom(
        "pushed",
        " pushed\n",
        "ON",
        "OFF",
        '{"camera":"frontdoor"}',
        '{"action":"single"}',
        '{"type":"new","after":{"camera":"front_door","label":"person"}}',
        "frontdoor",
        "{",
      )
      .map((s) => new TextEncoder().encode(s)),
    fc.constant(new Uint8Array(MAX_PAYLOAD_BYTES + 1).fill(0x7b)),
  );

  it("matchMessage never throws; presses only configured doorbells; an oversized payload presses nothing", () => {
    fc.assert(
      fc.property(topic, payload, (t, p) => {
        const result = matchMessage(rules, t, Buffer.from(p));
        for (const camera of result.cameras) expect(doorbells.has(camera)).toBe(true);
        for (const bad of result.malformed) expect(bad.reason.length).toBeGreaterThan(0);
        if (p.length > MAX_PAYLOAD_BYTES) expect(result.cameras).toEqual([]);
      }),
      { numRuns: 5000 },
    );
  });
});

describe("webhook requests", () => {
  const token = "the-right-webhook-token-0123456789";
  it("never throws, answers a known status, and presses only with the right token and a doorbell's name", () => {
    const presses: string[] = [];
    const hook = new WebhookTrigger(
      { token, rateLimit: { burst: 1000, perMinute: 6000 } },
      (camera) => {
        presses.push(camera);
        return camera === "frontdoor" ? "ringing" : "not_a_doorbell";
      },
      pino({ level: "silent" }),
    );
    const auth = fc.oneof(
      fc.constant(undefined),
      fc.constant(`Bearer ${token}`),
      fc.constant(`bearer  ${token} `),
      fc.constant(`Basic ${token}`),
      fc.string({ maxLength: 80 }),
      fc.string({ minLength: 4097, maxLength: 5000 }),
      fc.array(fc.string(), { maxLength: 2 }),
    );
    const request = fc.record({
      path: fc.oneof(
        fc.constant("/ring/frontdoor"),
        fc.string({ maxLength: 60 }).map((s) => `/ring/${s}`),
      ),
      authorization: auth,
      extra: fc.dictionary(
        fc.string({ minLength: 1, maxLength: 20 }).map((k) => k.toLowerCase()),
        fc.string({ maxLength: 40 }),
        { maxKeys: 5 },
      ),
      body: fc.uint8Array({ maxLength: 4096 }),
      remoteAddress: fc.oneof(fc.constant(undefined), fc.ipV4(), fc.string({ maxLength: 40 })),
    });
    fc.assert(
      fc.property(request, (r) => {
        const before = presses.length;
        const headers = { ...r.extra, ...(r.authorization !== undefined ? { authorization: r.authorization } : {}) };
        const reply = hook.handle({
          method: "POST",
          path: r.path,
          headers: headers as never,
          body: Buffer.from(r.body),
          remoteAddress: r.remoteAddress,
        });
        expect([200, 202, 401, 404, 429, 503]).toContain(reply.status);
        const authorized =
          typeof r.authorization === "string" && /^bearer[ \t]+the-right-webhook-token-0123456789[ \t]*$/i.test(r.authorization);
        if (!authorized) {
          expect(presses.length).toBe(before);
          expect([401, 429]).toContain(reply.status);
        }
        expect(reply.body ?? "").not.toContain(token);
      }),
      { numRuns: 3000 },
    );
  });
});
