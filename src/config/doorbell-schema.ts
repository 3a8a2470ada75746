/** Configuration of the ways a doorbell press rings people (webhook, MQTT) and of whom it rings. */
import { z } from "zod";

const USER_ID = /^@[^\s:]+:[^\s]+$/;
/** An MQTT topic filter: levels split by "/", "+" a whole level, "#" only as the whole last level. */
const TOPIC_FILTER = /^(?:(?:\+|[^+#/]*)\/)*(?:\+|#|[^+#/]*)$/;
/** A topic to publish to (no wildcards). */
const TOPIC = /^[^+#]+$/;

/** Per camera: who a press of this camera's doorbell rings. */
export const ringSchema = z
  .object({
    /** The users to ring, all at once (each in their direct chat with the bot, created if there is none). */
    users: z.array(z.string().regex(USER_ID, "must be a full user ID such as @alice:example.org")).min(1),
    /** Presses of this camera within this many ms of the one that rang ring nobody again. */
    debounceMs: z.number().int().min(0).max(600_000).default(15_000),
    /** Post a JPEG still of the camera into each rung direct chat. */
    snapshot: z.boolean().default(true),
  })
  .strict();

const jsonValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** A generic MQTT rule: a message on `topic` whose payload matches rings `camera`. */
export const mqttRuleSchema = z
  .object({
    /** Topic filter; MQTT wildcards + (one level) and # (the rest) are allowed. */
    topic: z.string().min(1).max(256).regex(TOPIC_FILTER, "must be an MQTT topic filter (+ for one level, # only at the end)"),
    camera: z.string().min(1),
    /** The payload must be exactly this string (surrounding white space ignored). */
    payload: z.string().optional(),
    /** Or: the payload is JSON and the field at `path` (dots, e.g. after.label) equals `equals`. */
    json: z
      .object({ path: z.string().min(1).max(200), equals: jsonValue })
      .strict()
      .optional(),
  })
  .strict()
  .refine((r) => r.payload === undefined || r.json === undefined, { message: "give payload or json, not both", path: ["json"] });

export const frigateSchema = z
  .object({
    /** Frigate's MQTT topic prefix. */
    topicPrefix: z.string().min(1).regex(TOPIC, "must be a topic without wildcards").default("frigate"),
    /** Audio labels that ring: <prefix>/<camera>/audio/<label> with payload ON. */
    audioLabels: z.array(z.string().regex(/^[^+#/]+$/)).default(["doorbell"]),
    /** Object labels whose new events on <prefix>/events ring (after.camera, after.label). Empty: events off. */
    eventLabels: z.array(z.string().min(1)).default([]),
    /** Frigate camera name → this bot's camera name, where they differ. */
    cameraMap: z.record(z.string().min(1), z.string().min(1)).default({}),
  })
  .strict();

export const homeAssistantSchema = z
  .object({
    /** The topic a Home Assistant automation publishes to (mqtt.publish), payload {"camera":"frontdoor"}. */
    topic: z.string().min(1).max(256).regex(TOPIC, "must be a topic without wildcards"),
  })
  .strict();

const PEM = z.string().min(1).max(65_536);

/** TLS for mqtts:// and wss:// brokers: the broker's CA (a self-signed broker), a client certificate. */
export const mqttTlsSchema = z
  .object({
    /** PEM of the CA that signed the broker's certificate, or caFile: a file holding it. Default: the system's CAs. */
    ca: PEM.optional(),
    caFile: z.string().min(1).optional(),
    /** A client certificate and its private key (PEM), or certFile/keyFile. */
    cert: PEM.optional(),
    certFile: z.string().min(1).optional(),
    key: PEM.optional(),
    keyFile: z.string().min(1).optional(),
    /** false accepts any broker certificate: anyone on the path can then read the password and send presses. */
    rejectUnauthorized: z.boolean().default(true),
  })
  .strict()
  .refine((t) => !(t.ca !== undefined && t.caFile !== undefined), { message: "give ca or caFile, not both", path: ["ca"] })
  .refine((t) => !(t.cert !== undefined && t.certFile !== undefined), { message: "give cert or certFile, not both", path: ["cert"] })
  .refine((t) => !(t.key !== undefined && t.keyFile !== undefined), { message: "give key or keyFile, not both", path: ["key"] })
  .refine((t) => ((t.cert ?? t.certFile) === undefined) === ((t.key ?? t.keyFile) === undefined), {
    message: "a client certificate needs its key, and a key its certificate",
    path: ["cert"],
  });

export const mqttSchema = z
  .object({
    /** Broker URL: mqtt://host:1883, mqtts://host:8883, ws:// or wss://. */
    url: z.url({ protocol: /^(mqtts?|wss?|tcp|tls)$/, error: "must be a broker URL such as mqtt://192.168.1.2:1883" }),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    /** Read the password from this file instead. */
    passwordFile: z.string().min(1).optional(),
    /** Client ID; default matrix-camera-call-<random>. */
    clientId: z.string().min(1).max(64).optional(),
    tls: mqttTlsSchema.optional(),
    rules: z.array(mqttRuleSchema).default([]),
    frigate: frigateSchema.optional(),
    homeAssistant: homeAssistantSchema.optional(),
  })
  .strict()
  .refine((m) => m.password === undefined || m.passwordFile === undefined, {
    message: "give password or passwordFile, not both",
    path: ["password"],
  });

export const webhookSchema = z
  .object({
    /** The bearer token a press must carry (Authorization: Bearer <token>). At least 16 characters. */
    token: z.string().min(16, "must be at least 16 characters").optional(),
    /** Read the token from this file instead. */
    tokenFile: z.string().min(1).optional(),
    /** Requests without the right token, per client address (IPv6 per /64): a burst, refilled at perMinute. Authenticated requests: four times that, everyone together. */
    rateLimit: z
      .object({ burst: z.number().int().min(1).max(1000).default(10), perMinute: z.number().int().min(1).max(6000).default(20) })
      .strict()
      .default({ burst: 10, perMinute: 20 }),
  })
  .strict()
  .refine((w) => (w.token === undefined) !== (w.tokenFile === undefined), {
    message: "give exactly one of token or tokenFile",
    path: ["token"],
  });

const PRESS_LIMIT_DEFAULT = { burst: 4, perMinute: 4 };

/** Top level `triggers`: how presses arrive. */
export const triggersSchema = z
  .object({
    /** POST /ring/<camera> on the HTTP listener (needs http.listen). */
    webhook: webhookSchema.optional(),
    mqtt: mqttSchema.optional(),
    /**
     * Presses that ring (past the debounce), from every trigger together: per camera a burst refilled at perMinute,
     * four times that for all cameras. The default matches the default debounce (one ring per 15 s).
     */
    pressLimit: z
      .object({
        burst: z.number().int().min(1).max(100).default(PRESS_LIMIT_DEFAULT.burst),
        perMinute: z.number().int().min(1).max(600).default(PRESS_LIMIT_DEFAULT.perMinute),
      })
      .strict()
      .default(PRESS_LIMIT_DEFAULT),
  })
  .strict()
  .default({ pressLimit: PRESS_LIMIT_DEFAULT });

export type RingConfig = z.infer<typeof ringSchema>;
export type TriggersConfig = z.infer<typeof triggersSchema>;
export type MqttConfig = z.infer<typeof mqttSchema>;
export type MqttTlsConfig = z.infer<typeof mqttTlsSchema>;
export type MqttRuleConfig = z.infer<typeof mqttRuleSchema>;
export type WebhookConfig = z.infer<typeof webhookSchema>;

type Problem = { key: string; message: string };

/**
 * Reads the secret files of `triggers` (tokenFile, passwordFile) into token and password, and checks what
 * the schema cannot see alone: every camera a rule names exists and has `ring`, the webhook has a listener,
 * and every user a press rings is allowed to use the bot.
 */
export function resolveTriggers(
  triggers: TriggersConfig,
  context: {
    cameras: readonly { name: string; ring?: RingConfig | undefined }[];
    httpListen: string | undefined;
    allows: (userId: string) => boolean;
  },
  readSecret: (file: string, key: string) => string | undefined,
  problems: Problem[],
): TriggersConfig {
  const out: TriggersConfig = { ...triggers };
  context.cameras.forEach((cam, i) => {
    cam.ring?.users.forEach((user, j) => {
      if (!context.allows(user))
        problems.push({ key: `cameras[${i}].ring.users[${j}]`, message: "is not in allowedUsers (the bot calls allowed users only)" });
    });
  });
  const webhook = triggers.webhook;
  if (webhook !== undefined) {
    if (context.httpListen === undefined)
      problems.push({ key: "triggers.webhook", message: "needs http.listen (the webhook is served by the HTTP listener)" });
    if (webhook.tokenFile !== undefined) {
      const token = readSecret(webhook.tokenFile, "triggers.webhook.tokenFile");
      if (token !== undefined && token.length < 16)
        problems.push({ key: "triggers.webhook.tokenFile", message: "the token must be at least 16 characters" });
      out.webhook = { rateLimit: webhook.rateLimit, ...(token !== undefined ? { token } : {}) };
    }
  }
  const mqtt = triggers.mqtt;
  if (mqtt !== undefined) {
    const doorbell = (name: string, key: string): void => {
      const cam = context.cameras.find((c) => c.name === name);
      if (cam === undefined) problems.push({ key, message: `names no configured camera ("${name.slice(0, 32)}")` });
      else if (cam.ring === undefined) problems.push({ key, message: `camera ${name} has no ring (who to ring)` });
    };
    mqtt.rules.forEach((rule, i) => {
      doorbell(rule.camera, `triggers.mqtt.rules[${i}].camera`);
    });
    for (const [frigateName, name] of Object.entries(mqtt.frigate?.cameraMap ?? {}))
      doorbell(name, `triggers.mqtt.frigate.cameraMap.${frigateName}`);
    const resolved = { ...mqtt };
    if (mqtt.passwordFile !== undefined) {
      const password = readSecret(mqtt.passwordFile, "triggers.mqtt.passwordFile");
      delete resolved.passwordFile;
      if (password !== undefined) resolved.password = password;
    }
    if (mqtt.tls !== undefined) resolved.tls = resolveTls(mqtt.tls, readSecret);
    out.mqtt = resolved;
  }
  return out;
}

/** The TLS files read into ca, cert and key (the file keys dropped). */
function resolveTls(tls: MqttTlsConfig, readSecret: (file: string, key: string) => string | undefined): MqttTlsConfig {
  const out: MqttTlsConfig = { rejectUnauthorized: tls.rejectUnauthorized };
  for (const part of ["ca", "cert", "key"] as const) {
    const file = tls[`${part}File`];
    const value = file !== undefined ? readSecret(file, `triggers.mqtt.tls.${part}File`) : tls[part];
    if (value !== undefined) out[part] = value;
  }
  return out;
}
