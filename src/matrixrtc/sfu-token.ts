/**
 * The LiveKit token for a MatrixRTC call, as Element Call gets it in its default ("compatibility") mode
 * (shared/notes/matrixrtc.md §2): an OpenID token from the bot's homeserver
 * (`POST /_matrix/client/v3/user/{userId}/openid/request_token`), exchanged at the focus's token service
 * (`POST {livekit_service_url}/sfu/get` with `{room, openid_token, device_id}`) for `{url, jwt}`. The service checks
 * the OpenID token with the homeserver and mints identity `{userId}:{deviceId}`, which remote Element Calls match
 * with the bot's membership. Both tokens are secrets: they never reach a log or an error message.
 */
import { z } from "zod";
import { errorMessage, redactUrl } from "../util/logger.ts";

const TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 64 * 1024;

export const openIdTokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().min(1),
  matrix_server_name: z.string().min(1),
  expires_in: z.number().int().positive(),
});
export type OpenIdToken = z.infer<typeof openIdTokenSchema>;

export const sfuGetResponseSchema = z.object({ url: z.url({ protocol: /^(wss?|https?)$/ }), jwt: z.string().min(1) }).loose();
export type SfuToken = { url: string; jwt: string };

const matrixErrorSchema = z.object({ errcode: z.string().optional(), error: z.string().optional() }).loose();

/** Why no token: `status` is the HTTP status when there was an answer. The message carries no secret. */
export class SfuTokenError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = "SfuTokenError";
  }
}

async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  fetchImpl: typeof fetch,
): Promise<{ status: number; body: unknown }> {
  const res = await fetchImpl(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    redirect: "error",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text.length <= MAX_BODY_BYTES ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed };
}

/** "M_FORBIDDEN: reason" from a Matrix-style error body, cut short; "" when there is none. */
function describeError(body: unknown): string {
  const parsed = matrixErrorSchema.safeParse(body);
  if (!parsed.success) return "";
  const text = [parsed.data.errcode, parsed.data.error].filter((s) => s !== undefined).join(": ");
  return text === "" ? "" : ` (${text.slice(0, 200)})`;
}

/** An OpenID token for the bot from its homeserver. */
export async function requestOpenIdToken(
  homeserverUrl: string,
  accessToken: string,
  userId: string,
  fetchImpl: typeof fetch = fetch,
): Promise<OpenIdToken> {
  const url = `${homeserverUrl.replace(/\/+$/, "")}/_matrix/client/v3/user/${encodeURIComponent(userId)}/openid/request_token`;
  let answer: { status: number; body: unknown };
  try {
    answer = await postJson(url, {}, { authorization: `Bearer ${accessToken}` }, fetchImpl);
  } catch (err: unknown) {
    throw new SfuTokenError(`the homeserver did not answer the OpenID token request: ${errorMessage(err)}`, undefined);
  }
  if (answer.status !== 200)
    throw new SfuTokenError(`the homeserver refused an OpenID token: ${String(answer.status)}${describeError(answer.body)}`, answer.status);
  const parsed = openIdTokenSchema.safeParse(answer.body);
  if (!parsed.success) throw new SfuTokenError("the homeserver's OpenID token answer is malformed", answer.status);
  return parsed.data;
}

/** `POST {serviceUrl}/sfu/get`: the LiveKit URL and token for `roomId` (the Matrix room) and the bot's device. */
export async function requestSfuToken(
  opts: { serviceUrl: string; roomId: string; deviceId: string; openIdToken: OpenIdToken },
  fetchImpl: typeof fetch = fetch,
): Promise<SfuToken> {
  const url = `${opts.serviceUrl.replace(/\/+$/, "")}/sfu/get`;
  let answer: { status: number; body: unknown };
  try {
    // Exactly these three fields: lk-jwt-service rejects unknown ones.
    answer = await postJson(url, { room: opts.roomId, openid_token: opts.openIdToken, device_id: opts.deviceId }, {}, fetchImpl);
  } catch (err: unknown) {
    throw new SfuTokenError(`the MatrixRTC focus ${redactUrl(url)} did not answer: ${errorMessage(err)}`, undefined);
  }
  if (answer.status !== 200)
    throw new SfuTokenError(
      `the MatrixRTC focus ${redactUrl(url)} refused a LiveKit token: ${String(answer.status)}${describeError(answer.body)}`,
      answer.status,
    );
  const parsed = sfuGetResponseSchema.safeParse(answer.body);
  if (!parsed.success)
    throw new SfuTokenError(`the MatrixRTC focus ${redactUrl(url)} answered without a usable url and jwt`, answer.status);
  return { url: parsed.data.url, jwt: parsed.data.jwt };
}
