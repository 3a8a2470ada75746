/**
 * The few client-server (and Synapse admin) calls the local homeserver and the demo make, with every
 * response parsed by zod. Not a Matrix client: the bot uses matrix-bot-sdk.
 */
import { z } from "zod";

const errorSchema = z.object({ errcode: z.string(), error: z.string().optional() }).loose();

/** A non-2xx answer; errcode is the Matrix error code (M_FORBIDDEN, M_USER_IN_USE, ...) when the body had one. */
export class MatrixHttpError extends Error {
  constructor(
    public readonly what: string,
    public readonly status: number,
    public readonly errcode: string | undefined,
    detail: string,
  ) {
    super(`${what} failed: HTTP ${status}${errcode !== undefined ? ` ${errcode}` : ""}${detail !== "" ? `: ${detail}` : ""}`);
    this.name = "MatrixHttpError";
  }
}

/** True when `err` is the homeserver's answer with this errcode (M_FORBIDDEN, M_NOT_FOUND, ...). */
export function isErrcode(err: unknown, errcode: string): boolean {
  return err instanceof MatrixHttpError && err.errcode === errcode;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT";
  accessToken?: string;
  body?: unknown;
  /** Abort after this long (default 15 s). */
  timeoutMs?: number;
}

/** Calls `baseUrl + path` and parses the JSON answer with `schema`; throws MatrixHttpError on an error status. */
export async function matrixRequest<S extends z.ZodType>(
  baseUrl: string,
  path: string,
  schema: S,
  what: string,
  opts: RequestOptions = {},
): Promise<z.infer<S>> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.accessToken !== undefined) headers["authorization"] = `Bearer ${opts.accessToken}`;
  const init: RequestInit = {
    method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
    headers,
    signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
  };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text === "" ? {} : JSON.parse(text);
  } catch (err: unknown) {
    throw new MatrixHttpError(what, res.status, undefined, `the answer is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!res.ok) {
    const error = errorSchema.safeParse(json);
    throw new MatrixHttpError(
      what,
      res.status,
      error.success ? error.data.errcode : undefined,
      error.success ? (error.data.error ?? "") : text.slice(0, 200),
    );
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${what}: unexpected answer: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

export const loginResponseSchema = z.object({ user_id: z.string(), access_token: z.string(), device_id: z.string() }).loose();

export interface LoginResult {
  userId: string;
  accessToken: string;
  deviceId: string;
}

/** m.login.password with a localpart or a full user ID. */
export async function passwordLogin(baseUrl: string, user: string, password: string, deviceName: string): Promise<LoginResult> {
  const login = await matrixRequest(baseUrl, "/_matrix/client/v3/login", loginResponseSchema, `login ${user}`, {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password, initial_device_display_name: deviceName },
  });
  return { userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id };
}

const whoamiSchema = z.object({ user_id: z.string(), device_id: z.string().optional() }).loose();

/** The user and device of an access token, or undefined when the homeserver does not know the token. */
export async function whoami(baseUrl: string, accessToken: string): Promise<{ userId: string; deviceId: string | undefined } | undefined> {
  try {
    const who = await matrixRequest(baseUrl, "/_matrix/client/v3/account/whoami", whoamiSchema, "whoami", { accessToken });
    return { userId: who.user_id, deviceId: who.device_id };
  } catch (err: unknown) {
    if (err instanceof MatrixHttpError && err.status === 401) return undefined;
    throw err;
  }
}
