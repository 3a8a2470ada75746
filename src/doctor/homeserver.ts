/**
 * doctor's checks of the Matrix side: the homeserver answers /versions, the access token is valid (whoami), the
 * homeserver hands out TURN credentials, `.well-known/matrix/client` names a MatrixRTC focus, and the native crypto
 * library for encrypted DMs is installed. All but the last ask the homeserver over HTTP through getJson, which
 * parses nothing itself: each check parses the answer with its own zod schema.
 */
import { z } from "zod";
import type { Config } from "../config/load.ts";
import { loadBotSdk } from "../matrix/sdk.ts";
import { errorMessage, redactUrl } from "../util/logger.ts";
import { TIMEOUT_MS, type CheckResult } from "./result.ts";

async function getJson(url: string, token?: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined; // not JSON: the callers report the status code
  }
  return { status: res.status, body };
}

const versionsSchema = z.object({ versions: z.array(z.string()) }).loose();
const whoamiSchema = z.object({ user_id: z.string(), device_id: z.string().optional() }).loose();
const turnSchema = z.object({ uris: z.array(z.string()).min(1), ttl: z.number() }).loose();
const wellKnownSchema = z
  .object({
    "m.homeserver": z.object({ base_url: z.string() }).loose().optional(),
    "org.matrix.msc4143.rtc_foci": z.array(z.object({ type: z.string() }).loose()).optional(),
  })
  .loose();

export async function checkHomeserver(config: Config): Promise<CheckResult> {
  const name = "homeserver reachable";
  const started = Date.now();
  const where = redactUrl(config.homeserver.url);
  try {
    const { status, body } = await getJson(`${config.homeserver.url}/_matrix/client/versions`);
    const parsed = versionsSchema.safeParse(body);
    if (status !== 200 || !parsed.success) {
      return {
        name,
        status: "fail",
        detail: `${where} answered ${status} without a versions list`,
        fix: "homeserver.url must be the client-server API base URL (what Element's homeserver field takes)",
      };
    }
    const latest = parsed.data.versions.at(-1) ?? "?";
    return { name, status: "pass", detail: `${where} in ${Date.now() - started} ms, spec versions up to ${latest}` };
  } catch (err: unknown) {
    const fix = "check homeserver.url, DNS and that the homeserver is running";
    return { name, status: "fail", detail: `${where}: ${errorMessage(err)}`, fix };
  }
}

export async function checkToken(config: Config, token: string | undefined): Promise<{ result: CheckResult; userId?: string }> {
  const name = "access token valid";
  if (token === undefined) {
    return { result: { name, status: "warn", detail: "no access token yet: the bot logs in with homeserver.user/password at start" } };
  }
  try {
    const { status, body } = await getJson(`${config.homeserver.url}/_matrix/client/v3/account/whoami`, token);
    const who = whoamiSchema.safeParse(body);
    if (status === 200 && who.success) {
      const device = who.data.device_id !== undefined ? ` (device ${who.data.device_id})` : "";
      return { result: { name, status: "pass", detail: `logged in as ${who.data.user_id}${device}` }, userId: who.data.user_id };
    }
    return {
      result: {
        name,
        status: "fail",
        detail: `whoami answered ${status}`,
        fix: "the access token is wrong or was logged out: create a new one for the bot account (or use homeserver.user + password)",
      },
    };
  } catch (err: unknown) {
    return { result: { name, status: "fail", detail: errorMessage(err), fix: "the homeserver did not answer whoami" } };
  }
}

export async function checkTurn(config: Config, token: string | undefined): Promise<CheckResult> {
  const name = "TURN";
  if (token === undefined) return { name, status: "warn", detail: "not checked: no access token" };
  const fix =
    "calls across NAT will fail. In Synapse's homeserver.yaml set turn_uris " +
    '(e.g. ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"]) ' +
    "and turn_shared_secret (the static-auth-secret of your coturn), then restart Synapse";
  try {
    const { status, body } = await getJson(`${config.homeserver.url}/_matrix/client/v3/voip/turnServer`, token);
    const turn = turnSchema.safeParse(body);
    if (status === 200 && turn.success) {
      return { name, status: "pass", detail: `${turn.data.uris.join(", ")} (credentials valid ${turn.data.ttl} s)` };
    }
    if (status === 200) return { name, status: "warn", detail: "the homeserver offers no TURN server", fix };
    return { name, status: "warn", detail: `turnServer answered ${status}`, fix };
  } catch (err: unknown) {
    return { name, status: "warn", detail: errorMessage(err), fix };
  }
}

/** `.well-known/matrix/client` of the bot's server, and whether it names a MatrixRTC focus. */
export async function checkWellKnown(config: Config, userId: string | undefined): Promise<CheckResult> {
  const name = "well-known and Element Call focus";
  const server = userId?.split(":").slice(1).join(":");
  const urls = [
    ...(server !== undefined ? [`https://${server}/.well-known/matrix/client`] : []),
    `${config.homeserver.url}/.well-known/matrix/client`,
  ];
  for (const url of urls) {
    try {
      const { status, body } = await getJson(url);
      const wk = wellKnownSchema.safeParse(body);
      if (status !== 200 || !wk.success) continue;
      const foci = wk.data["org.matrix.msc4143.rtc_foci"];
      if (foci && foci.length > 0) {
        const types = foci.map((f) => f.type).join(", ");
        return { name, status: "pass", detail: `${redactUrl(url)} names ${foci.length} MatrixRTC focus(es): ${types}` };
      }
      return {
        name,
        status: "warn",
        detail: `${redactUrl(url)} has no org.matrix.msc4143.rtc_foci`,
        fix:
          "Element Call and Element X users will see MISSING_MATRIX_RTC_FOCUS when they start a call: " +
          "add org.matrix.msc4143.rtc_foci (a livekit focus with livekit_service_url) to /.well-known/matrix/client. " +
          "This bot's legacy calls are not affected: Element Web/Desktop rings for them either way",
      };
    } catch {
      continue; // try the next place it may be served from
    }
  }
  return {
    name,
    status: "warn",
    detail: `no /.well-known/matrix/client found at ${urls.map(redactUrl).join(" or ")}`,
    fix:
      "clients then need the homeserver URL typed in, and Element Call has no focus (MISSING_MATRIX_RTC_FOCUS); " +
      "serve /.well-known/matrix/client with m.homeserver and org.matrix.msc4143.rtc_foci. " +
      "Legacy calls from this bot are not affected",
  };
}

export function checkEncryption(): CheckResult {
  const name = "end-to-end encryption";
  const { cryptoAvailable, cryptoError } = loadBotSdk();
  if (cryptoAvailable) return { name, status: "pass", detail: "the native crypto library is installed: encrypted DMs work" };
  return {
    name,
    status: "warn",
    detail: `unavailable (${cryptoError ?? "library missing"})`,
    fix:
      "create the direct chat with the bot unencrypted, or install @matrix-org/matrix-sdk-crypto-nodejs with its native library " +
      "(npm install-scripts approve @matrix-org/matrix-sdk-crypto-nodejs && npm rebuild, with internet access)",
  };
}
