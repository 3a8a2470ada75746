import { readFileSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { AccessList, CameraAccess } from "../admission/access.ts";
import { resolveTriggers } from "./doorbell-schema.ts";
import { registerConfigSecrets } from "./secrets.ts";
import { configSchema, type CameraRawConfig, type RawConfig } from "./schema.ts";
import { DEFAULT_MEGAPIXELS_PER_CORE } from "../media/encode-budget.ts";

/** A configuration problem, always naming the key (`cameras[0].url`) and what is wrong. */
export class ConfigError extends Error {
  constructor(
    public readonly problems: readonly { key: string; message: string }[],
    public readonly file: string,
  ) {
    super(`Invalid configuration in ${file}:\n` + problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"));
    this.name = "ConfigError";
  }
}

/**
 * A camera as the bot uses it: the schema's camera (z.infer, so a new key is typed once, in schema.ts) with its URL
 * resolved (from url, or read from urlFile, which stays as the file's name). The URL may contain credentials: never log it, use urlLabel() (its parts are also
 * redacted by value). `talkback` may be left out by code that builds a camera itself (tests, the demo): off.
 */
export interface CameraConfig extends Omit<CameraRawConfig, "url" | "talkback"> {
  url: string;
  talkback?: CameraRawConfig["talkback"] | undefined;
}

/** The configuration as the bot uses it: the schema's (z.infer) with secrets, URLs and paths resolved. */
export interface Config extends Omit<RawConfig, "homeserver" | "cameras" | "media"> {
  media: Omit<RawConfig["media"], "encodeMegapixelsPerCore"> & {
    /** As configured, else DEFAULT_MEGAPIXELS_PER_CORE. */
    encodeMegapixelsPerCore: number;
    /** Left to the default: the budget follows the machine's measured encoding speed (media/encode-speed.ts). */
    encodeBudgetFollowsSpeed: boolean;
  };
  /** The secrets read from their files (or MCC_ACCESS_TOKEN, MCC_PASSWORD). */
  homeserver: Omit<RawConfig["homeserver"], "accessTokenFile" | "passwordFile">;
  cameras: CameraConfig[];
  /** Absolute path. */
  dataDir: string;
}

type Env = Record<string, string | undefined>;

function keyOf(pathParts: readonly PropertyKey[]): string {
  let key = "";
  for (const part of pathParts) {
    if (typeof part === "number") key += `[${part}]`;
    else key += key === "" ? String(part) : `.${String(part)}`;
  }
  return key === "" ? "(top level)" : key;
}

/** Deeper than this is no configuration (and would exhaust the stack): an error naming the key. */
const MAX_DEPTH = 32;

/**
 * Replaces ${NAME} in every string with the environment variable NAME; a missing one is an error naming the key.
 * Returns a copy; a value that contains itself (a YAML alias of its own parent) or nests too deeply is an error.
 */
function expandEnv(
  value: unknown,
  env: Env,
  at: PropertyKey[],
  problems: { key: string; message: string }[],
  parents: readonly object[] = [],
): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push({ key: keyOf(at), message: `environment variable ${name} is not set` });
        return "";
      }
      return v;
    });
  }
  if (value === null || typeof value !== "object") return value;
  if (parents.includes(value)) {
    problems.push({ key: keyOf(at), message: "refers to itself (a YAML alias inside its own anchor)" });
    return null;
  }
  if (parents.length >= MAX_DEPTH) {
    problems.push({ key: keyOf(at), message: `nested more than ${MAX_DEPTH} levels deep` });
    return null;
  }
  const inner = [...parents, value];
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, [...at, i], problems, inner));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, [...at, k], problems, inner);
  return out;
}

function readSecretFile(file: string, baseDir: string, key: string, problems: { key: string; message: string }[]): string | undefined {
  try {
    const text = readFileSync(path.resolve(baseDir, file), "utf8").trim();
    if (text === "") problems.push({ key, message: `file ${file} is empty` });
    return text;
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    problems.push({ key, message: `cannot read file ${file} (${code})` });
    return undefined;
  }
}

function zodProblems(error: z.ZodError): { key: string; message: string }[] {
  return error.issues.map((issue) => ({ key: keyOf(issue.path), message: issue.message }));
}

/** Validates an already-parsed configuration object (from YAML or built in code, e.g. the demo and tests). */
export function parseConfig(input: unknown, opts: { env?: Env; baseDir?: string; file?: string } = {}): Config {
  const env = opts.env ?? process.env;
  const baseDir = opts.baseDir ?? process.cwd();
  const file = opts.file ?? "(inline configuration)";
  const problems: { key: string; message: string }[] = [];
  const expanded = expandEnv(input ?? {}, env, [], problems);
  if (problems.length > 0) throw new ConfigError(problems, file);

  const result = configSchema.safeParse(withEnvSecrets(expanded, env));
  if (!result.success) throw new ConfigError(zodProblems(result.error), file);
  const raw = result.data;

  const hs = raw.homeserver;
  const accessToken =
    hs.accessToken ??
    (hs.accessTokenFile !== undefined ? readSecretFile(hs.accessTokenFile, baseDir, "homeserver.accessTokenFile", problems) : undefined);
  const password =
    hs.password ??
    (hs.passwordFile !== undefined ? readSecretFile(hs.passwordFile, baseDir, "homeserver.passwordFile", problems) : undefined);
  const cameras = raw.cameras.map((cam, i) => resolveCamera(cam, i, baseDir, problems));
  if (raw.calls.defaultCamera !== undefined && !raw.cameras.some((c) => c.name === raw.calls.defaultCamera)) {
    problems.push({ key: "calls.defaultCamera", message: `no camera is named "${raw.calls.defaultCamera}"` });
  }
  const access = new AccessList(raw.allowedUsers);
  const triggers = resolveTriggers(
    raw.triggers,
    { cameras: raw.cameras, httpListen: raw.http.listen, allows: (user) => access.allows(user) },
    (secretFile, key) => readSecretFile(secretFile, baseDir, key, problems),
    problems,
  );
  checkCameraAccess(raw, access, problems);
  if (problems.length > 0) throw new ConfigError(problems, file);

  const config: Config = {
    homeserver: { url: hs.url.replace(/\/+$/, ""), accessToken, user: hs.user, password, deviceName: hs.deviceName },
    allowedUsers: raw.allowedUsers,
    cameras,
    calls: raw.calls,
    media: {
      ffmpegPath: raw.media.ffmpegPath,
      leanFfmpegPath: raw.media.leanFfmpegPath,
      idleStopMs: raw.media.idleStopMs,
      encodeMegapixelsPerCore: raw.media.encodeMegapixelsPerCore ?? DEFAULT_MEGAPIXELS_PER_CORE,
      encodeBudgetFollowsSpeed: raw.media.encodeMegapixelsPerCore === undefined,
      videoPacingFactor: raw.media.videoPacingFactor,
    },
    http: raw.http,
    triggers,
    matrixRtc: raw.matrixRtc,
    dataDir: path.resolve(baseDir, raw.dataDir),
    logLevel: raw.logLevel,
  };
  // Before anything can log them: every later log line and doctor report is scrubbed of these values.
  registerConfigSecrets(config);
  return config;
}

/** MCC_ACCESS_TOKEN and MCC_PASSWORD fill in the secrets when the file leaves them out. */
function withEnvSecrets(input: unknown, env: Env): unknown {
  if (input === null || typeof input !== "object" || Array.isArray(input)) return input;
  const top = input as Record<string, unknown>;
  const hs = top["homeserver"];
  if (hs === null || typeof hs !== "object" || Array.isArray(hs)) return input;
  const homeserver = { ...(hs as Record<string, unknown>) };
  const token = env["MCC_ACCESS_TOKEN"];
  const password = env["MCC_PASSWORD"];
  if (token !== undefined && token !== "" && homeserver["accessToken"] === undefined && homeserver["accessTokenFile"] === undefined)
    homeserver["accessToken"] = token;
  if (password !== undefined && password !== "" && homeserver["password"] === undefined && homeserver["passwordFile"] === undefined)
    homeserver["password"] = password;
  return { ...top, homeserver };
}

function resolveCamera(cam: CameraRawConfig, index: number, baseDir: string, problems: { key: string; message: string }[]): CameraConfig {
  const url =
    cam.url ?? (cam.urlFile !== undefined ? readSecretFile(cam.urlFile, baseDir, `cameras[${index}].urlFile`, problems) : undefined) ?? "";
  if (url !== "" && !/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith("/")) {
    problems.push({ key: `cameras[${index}].url`, message: "must be a URL such as rtsp://host:554/stream (or an absolute file path)" });
  }
  return { ...cam, url };
}

/**
 * A camera's allowedUsers narrows the global list, so a full user ID there that the global list does not allow is
 * a mistake. A doorbell rings its users with a call from its own camera, so they must be allowed on that camera
 * (not on the others: a ring gives no rights on other cameras).
 */
function checkCameraAccess(raw: RawConfig, access: AccessList, problems: { key: string; message: string }[]): void {
  const cameras = new CameraAccess(access, raw.cameras);
  raw.cameras.forEach((cam, i) => {
    cam.allowedUsers?.forEach((user, j) => {
      if (user.startsWith("@") && !access.allows(user))
        problems.push({
          key: `cameras[${i}].allowedUsers[${j}]`,
          message: "is not in allowedUsers (a camera's list narrows the global one)",
        });
    });
    cam.ring?.users.forEach((user, j) => {
      if (access.allows(user) && !cameras.allows(user, cam.name))
        problems.push({
          key: `cameras[${i}].ring.users[${j}]`,
          message: "is not in this camera's allowedUsers (a ring is a call from this camera)",
        });
    });
  });
}

/** Reads and validates a YAML configuration file. Throws ConfigError naming every bad key. */
export function loadConfigFile(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err: unknown) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new ConfigError([{ key: "(file)", message: `cannot read ${file} (${code})` }], file);
  }
  let parsed: unknown;
  try {
    // prettyErrors off: the pretty form quotes the file's lines, which may hold secrets.
    parsed = parseYaml(text, { prettyErrors: false });
  } catch (err: unknown) {
    if (err instanceof YAMLParseError) {
      const offset = err.pos[0];
      const before = text.slice(0, offset).split("\n");
      const where = ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
      throw new ConfigError([{ key: "(yaml)", message: `not valid YAML${where} (${err.code})` }], file);
    }
    throw new ConfigError([{ key: "(yaml)", message: "not valid YAML" }], file);
  }
  return parseConfig(parsed, { env, baseDir: path.dirname(path.resolve(file)), file });
}
