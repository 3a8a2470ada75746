/**
 * Which LiveKit focus (an lk-jwt-service in front of a LiveKit SFU) the bot's MatrixRTC calls use, found the way
 * Element Call finds it (shared/notes/matrixrtc.md §2, "Discovery"):
 *   1. `matrixRtc.livekitServiceUrl` in the bot's config: the operator's explicit choice wins;
 *   2. the homeserver's `GET /_matrix/client/unstable/org.matrix.msc4143/rtc/transports` (authenticated; Element
 *      Call moved to it in 2026-08; Synapse serves it with experimental msc4143_enabled and `matrix_rtc.transports`);
 *   3. `org.matrix.msc4143.rtc_foci` in `/.well-known/matrix/client` (what older Element Call read, and what most
 *      deployment guides still configure).
 * Every answer is parsed with zod; anything malformed counts as "not offered here" with the reason kept, so
 * `doctor` can say what each place answered.
 */
import { z } from "zod";
import { errorMessage, redactUrl } from "../util/logger.ts";

export const TRANSPORTS_PATH = "/_matrix/client/unstable/org.matrix.msc4143/rtc/transports";
export const WELL_KNOWN_PATH = "/.well-known/matrix/client";
const TIMEOUT_MS = 5_000;
const MAX_BODY_BYTES = 64 * 1024;

/** Where the focus came from; "membership": the caller's `foci_preferred`, when the bot joins their call. */
export type FocusSource = "config" | "rtc/transports" | "well-known" | "membership";

export interface LiveKitFocus {
  type: "livekit";
  /** Where the token service answers (`POST {url}/sfu/get`); no trailing slash. */
  livekitServiceUrl: string;
  source: FocusSource;
}

export interface FocusAttempt {
  source: FocusSource;
  /** Where it was looked up (URLs carry no credentials). */
  where: string;
  /** What was found, or why nothing usable was. */
  outcome: string;
}

export type FocusDiscovery = { focus: LiveKitFocus; attempts: FocusAttempt[] } | { focus: undefined; attempts: FocusAttempt[] };

const serviceUrl = z.url({ protocol: /^https?$/ });

/** One transport/focus entry; other types (and unknown fields) are allowed and skipped. */
const transportSchema = z.object({ type: z.string(), livekit_service_url: z.string().optional() }).loose();

export const transportsResponseSchema = z.object({ rtc_transports: z.array(z.unknown()).optional() }).loose();
export const wellKnownFociSchema = z.object({ "org.matrix.msc4143.rtc_foci": z.array(z.unknown()).optional() }).loose();

/**
 * The first usable LiveKit focus of a list of transports (entries that are not objects, not `livekit`, or whose
 * `livekit_service_url` is not an http(s) URL are skipped), or why there is none.
 */
export function pickLiveKit(entries: readonly unknown[] | undefined, source: FocusSource): LiveKitFocus | string {
  if (entries === undefined || entries.length === 0) return "offers no transport";
  const skipped: string[] = [];
  for (const entry of entries) {
    const parsed = transportSchema.safeParse(entry);
    if (!parsed.success) {
      skipped.push("an entry that is not a transport");
      continue;
    }
    const { type, livekit_service_url: url } = parsed.data;
    if (type !== "livekit") {
      skipped.push(`type ${JSON.stringify(type).slice(0, 40)}`);
      continue;
    }
    if (url === undefined || !serviceUrl.safeParse(url).success) {
      skipped.push("a livekit transport without an http(s) livekit_service_url");
      continue;
    }
    return { type: "livekit", livekitServiceUrl: url.replace(/\/+$/, ""), source };
  }
  return `offers no usable LiveKit focus (skipped ${skipped.join(", ")})`;
}

async function getJson(url: string, accessToken: string | undefined, fetchImpl: typeof fetch): Promise<{ status: number; body: unknown }> {
  const res = await fetchImpl(url, {
    headers: accessToken !== undefined ? { authorization: `Bearer ${accessToken}` } : {},
    redirect: "error",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (text.length > MAX_BODY_BYTES) return { status: res.status, body: undefined };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

export interface DiscoverOptions {
  /** The homeserver's client-server API base URL (config homeserver.url). */
  homeserverUrl: string;
  accessToken: string;
  /** The bot's server name (from its user ID): its `https://{server}/.well-known` is tried first. */
  serverName?: string;
  /** matrixRtc.livekitServiceUrl from the config. */
  configured?: string;
  fetch?: typeof fetch;
}

/** Finds the focus: config, then the homeserver's rtc/transports, then the well-known (see the file comment). */
export async function discoverFocus(opts: DiscoverOptions): Promise<FocusDiscovery> {
  const fetchImpl = opts.fetch ?? fetch;
  const attempts: FocusAttempt[] = [];
  const base = opts.homeserverUrl.replace(/\/+$/, "");
  if (opts.configured !== undefined) {
    const picked = pickLiveKit([{ type: "livekit", livekit_service_url: opts.configured }], "config");
    if (typeof picked !== "string")
      return { focus: picked, attempts: [{ source: "config", where: "matrixRtc.livekitServiceUrl", outcome: "configured" }] };
    attempts.push({ source: "config", where: "matrixRtc.livekitServiceUrl", outcome: "not an http(s) URL" });
  }

  const transportsUrl = `${base}${TRANSPORTS_PATH}`;
  try {
    const { status, body } = await getJson(transportsUrl, opts.accessToken, fetchImpl);
    const parsed = transportsResponseSchema.safeParse(body);
    if (status !== 200)
      attempts.push({
        source: "rtc/transports",
        where: redactUrl(transportsUrl),
        outcome: `answered ${String(status)} (the homeserver does not offer MSC4143 transports)`,
      });
    else if (!parsed.success)
      attempts.push({
        source: "rtc/transports",
        where: redactUrl(transportsUrl),
        outcome: "answered 200 with something that is not a transports object",
      });
    else {
      const picked = pickLiveKit(parsed.data.rtc_transports, "rtc/transports");
      if (typeof picked !== "string")
        return {
          focus: picked,
          attempts: [
            ...attempts,
            { source: "rtc/transports", where: redactUrl(transportsUrl), outcome: `offers ${redactUrl(picked.livekitServiceUrl)}` },
          ],
        };
      attempts.push({ source: "rtc/transports", where: redactUrl(transportsUrl), outcome: picked });
    }
  } catch (err: unknown) {
    attempts.push({ source: "rtc/transports", where: redactUrl(transportsUrl), outcome: `no answer: ${errorMessage(err)}` });
  }

  const wellKnownUrls = [
    ...(opts.serverName !== undefined ? [`https://${opts.serverName}${WELL_KNOWN_PATH}`] : []),
    `${base}${WELL_KNOWN_PATH}`,
  ];
  for (const url of new Set(wellKnownUrls)) {
    try {
      const { status, body } = await getJson(url, undefined, fetchImpl);
      const parsed = wellKnownFociSchema.safeParse(body);
      if (status !== 200 || !parsed.success) {
        attempts.push({
          source: "well-known",
          where: redactUrl(url),
          outcome: status !== 200 ? `answered ${String(status)}` : "is not a JSON object",
        });
        continue;
      }
      const picked = pickLiveKit(parsed.data["org.matrix.msc4143.rtc_foci"], "well-known");
      if (typeof picked !== "string")
        return {
          focus: picked,
          attempts: [
            ...attempts,
            { source: "well-known", where: redactUrl(url), outcome: `offers ${redactUrl(picked.livekitServiceUrl)}` },
          ],
        };
      attempts.push({ source: "well-known", where: redactUrl(url), outcome: `org.matrix.msc4143.rtc_foci ${picked}` });
      // A well-known was served: its answer is the homeserver's, the next place would not be more authoritative.
      break;
    } catch (err: unknown) {
      attempts.push({ source: "well-known", where: redactUrl(url), outcome: `no answer: ${errorMessage(err)}` });
    }
  }
  return { focus: undefined, attempts };
}
