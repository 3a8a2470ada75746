/**
 * `doctor`'s MatrixRTC focus check, in the terms of the deployment guides Element Call users follow: which focus
 * the bot would use and where it found it (config, the homeserver's MSC4143 rtc/transports, or the well-known
 * rtc_foci: src/matrixrtc/focus.ts), and whether its token service is there: lk-jwt-service answers a GET of
 * `/sfu/get` with 405 (it takes only POST), which is how the guides check it. Warnings only: the bot's calls are
 * legacy calls unless MatrixRTC is used, and a missing focus does not stop them.
 */
import type { Config } from "../config/load.ts";
import { discoverFocus } from "../matrixrtc/focus.ts";
import { errorMessage, redactUrl } from "../util/logger.ts";
import type { CheckResult } from "./checks.ts";

const NAME = "MatrixRTC focus";
const TIMEOUT_MS = 8_000;

export async function checkRtcFocus(
  config: Config,
  token: string | undefined,
  userId: string | undefined,
  fetchImpl: typeof fetch = fetch,
): Promise<CheckResult> {
  if (token === undefined) return { name: NAME, status: "warn", detail: "not checked: no access token (rtc/transports needs one)" };
  const configured = config.matrixRtc.livekitServiceUrl;
  const serverName = userId?.split(":").slice(1).join(":");
  const found = await discoverFocus({
    homeserverUrl: config.homeserver.url,
    accessToken: token,
    fetch: fetchImpl,
    ...(serverName !== undefined && serverName !== "" ? { serverName } : {}),
    ...(configured !== undefined ? { configured } : {}),
  });
  if (found.focus === undefined) {
    return {
      name: NAME,
      status: "warn",
      detail: `no LiveKit focus: ${found.attempts.map((a) => `${a.where} ${a.outcome}`).join("; ")}`,
      fix:
        "Element Call and Element X fail with MISSING_MATRIX_RTC_FOCUS without one, and the bot cannot place MatrixRTC calls: " +
        "deploy LiveKit with lk-jwt-service and offer it from the homeserver (Synapse: experimental_features.msc4143_enabled " +
        "and matrix_rtc.transports; or org.matrix.msc4143.rtc_foci in /.well-known/matrix/client), or set matrixRtc.livekitServiceUrl",
    };
  }
  const where = {
    config: "matrixRtc.livekitServiceUrl",
    "rtc/transports": "the homeserver's MSC4143 rtc/transports",
    "well-known": "the well-known org.matrix.msc4143.rtc_foci",
    membership: "the caller's call membership",
  }[found.focus.source];
  const service = redactUrl(found.focus.livekitServiceUrl);
  const sfuGet = `${found.focus.livekitServiceUrl}/sfu/get`;
  let status: number;
  try {
    status = (await fetchImpl(sfuGet, { redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) })).status;
  } catch (err: unknown) {
    return {
      name: NAME,
      status: "warn",
      detail: `${service} (from ${where}) does not answer: ${errorMessage(err)}`,
      fix: "the token service (lk-jwt-service) must be reachable over HTTPS from the bot and from every caller's phone",
    };
  }
  if (status === 405) {
    return { name: NAME, status: "pass", detail: `${service} from ${where}; GET /sfu/get answers 405 (POST only), as lk-jwt-service does` };
  }
  return {
    name: NAME,
    status: "warn",
    detail: `${service} from ${where}: GET /sfu/get answered ${String(status)}, not 405`,
    fix:
      "lk-jwt-service answers 405 to a GET of /sfu/get: anything else means the URL does not reach it " +
      "(a wrong path, or a reverse proxy that does not pass /sfu/get to it)",
  };
}
