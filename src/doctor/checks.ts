/** The checks of `doctor`: each returns a verdict with a detail and, when something is wrong, how to fix it. */
import { spawn } from "node:child_process";
import { connect } from "mqtt";
import { z } from "zod";
import type { CameraConfig, Config } from "../config/load.ts";
import { childEnv } from "../media/child-env.ts";
import { resolveFfmpeg, resolveFfprobe, type FfmpegBinary } from "../media/ffmpeg-path.ts";
import { loadBotSdk } from "../matrix/sdk.ts";
import { errorMessage, redactUrl, urlLabel } from "../util/logger.ts";

export type Status = "pass" | "warn" | "fail";

export interface CheckResult {
  name: string;
  status: Status;
  detail: string;
  fix?: string;
}

const TIMEOUT_MS = 8000;

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
  try {
    const { status, body } = await getJson(`${config.homeserver.url}/_matrix/client/versions`);
    const parsed = versionsSchema.safeParse(body);
    if (status !== 200 || !parsed.success) {
      return { name, status: "fail", detail: `${redactUrl(config.homeserver.url)} answered ${status} without a versions list`, fix: "homeserver.url must be the client-server API base URL (what Element's homeserver field takes)" };
    }
    const latest = parsed.data.versions.at(-1) ?? "?";
    return { name, status: "pass", detail: `${redactUrl(config.homeserver.url)} in ${Date.now() - started} ms, spec versions up to ${latest}` };
  } catch (err: unknown) {
    return { name, status: "fail", detail: `${redactUrl(config.homeserver.url)}: ${errorMessage(err)}`, fix: "check homeserver.url, DNS and that the homeserver is running" };
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
      return { result: { name, status: "pass", detail: `logged in as ${who.data.user_id}${who.data.device_id !== undefined ? ` (device ${who.data.device_id})` : ""}` }, userId: who.data.user_id };
    }
    return { result: { name, status: "fail", detail: `whoami answered ${status}`, fix: "the access token is wrong or was logged out: create a new one for the bot account (or use homeserver.user + password)" } };
  } catch (err: unknown) {
    return { result: { name, status: "fail", detail: errorMessage(err), fix: "the homeserver did not answer whoami" } };
  }
}

export async function checkTurn(config: Config, token: string | undefined): Promise<CheckResult> {
  const name = "TURN";
  if (token === undefined) return { name, status: "warn", detail: "not checked: no access token" };
  const fix = "calls across NAT will fail. In Synapse's homeserver.yaml set turn_uris (e.g. [\"turn:turn.example.org:3478?transport=udp\", \"turn:turn.example.org:3478?transport=tcp\"]) and turn_shared_secret (the static-auth-secret of your coturn), then restart Synapse";
  try {
    const { status, body } = await getJson(`${config.homeserver.url}/_matrix/client/v3/voip/turnServer`, token);
    const turn = turnSchema.safeParse(body);
    if (status === 200 && turn.success) return { name, status: "pass", detail: `${turn.data.uris.join(", ")} (credentials valid ${turn.data.ttl} s)` };
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
  const urls = [...(server !== undefined ? [`https://${server}/.well-known/matrix/client`] : []), `${config.homeserver.url}/.well-known/matrix/client`];
  for (const url of urls) {
    try {
      const { status, body } = await getJson(url);
      const wk = wellKnownSchema.safeParse(body);
      if (status !== 200 || !wk.success) continue;
      const foci = wk.data["org.matrix.msc4143.rtc_foci"];
      if (foci && foci.length > 0) return { name, status: "pass", detail: `${redactUrl(url)} names ${foci.length} MatrixRTC focus(es): ${foci.map((f) => f.type).join(", ")}` };
      return {
        name,
        status: "warn",
        detail: `${redactUrl(url)} has no org.matrix.msc4143.rtc_foci`,
        fix: "Element Call and Element X users will see MISSING_MATRIX_RTC_FOCUS when they start a call: add org.matrix.msc4143.rtc_foci (a livekit focus with livekit_service_url) to /.well-known/matrix/client. This bot's legacy calls are not affected: Element Web/Desktop rings for them either way",
      };
    } catch {
      continue; // try the next place it may be served from
    }
  }
  return { name, status: "warn", detail: `no /.well-known/matrix/client found at ${urls.map(redactUrl).join(" or ")}`, fix: "clients then need the homeserver URL typed in, and Element Call has no focus (MISSING_MATRIX_RTC_FOCUS); serve /.well-known/matrix/client with m.homeserver and org.matrix.msc4143.rtc_foci. Legacy calls from this bot are not affected" };
}

export function checkEncryption(): CheckResult {
  const { cryptoAvailable, cryptoError } = loadBotSdk();
  if (cryptoAvailable) return { name: "end-to-end encryption", status: "pass", detail: "the native crypto library is installed: encrypted DMs work" };
  return { name: "end-to-end encryption", status: "warn", detail: `unavailable (${cryptoError ?? "library missing"})`, fix: "create the direct chat with the bot unencrypted, or install @matrix-org/matrix-sdk-crypto-nodejs with its native library (npm install-scripts approve @matrix-org/matrix-sdk-crypto-nodejs && npm rebuild, with internet access)" };
}

function run(file: string, args: string[], timeoutMs = TIMEOUT_MS): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], shell: false, env: childEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => { clearTimeout(timer); resolve({ code: -1, stdout, stderr: err.message }); });
    child.once("close", (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export async function checkFfmpeg(config: Config): Promise<{ result: CheckResult; ffmpeg?: FfmpegBinary }> {
  const name = "ffmpeg";
  const found = resolveFfmpeg(config.media.ffmpegPath);
  if ("error" in found) return { result: { name, status: "fail", detail: found.error, fix: "install ffmpeg (apt-get install ffmpeg) or set media.ffmpegPath" } };
  const decoders = (await run(found.path, ["-hide_banner", "-decoders"])).stdout;
  const has = (codec: string): boolean => new RegExp(`^\\s*V\\S*\\s+${codec}\\s`, "m").test(decoders);
  const hw = (await run(found.path, ["-hide_banner", "-hwaccels"])).stdout.split("\n").slice(1).map((l) => l.trim()).filter((l) => l !== "");
  const missing = ["h264", "hevc"].filter((c) => !has(c));
  const detail = `${found.version} (${found.source}: ${found.path}); decoders h264 ${has("h264") ? "yes" : "NO"}, h265 ${has("hevc") ? "yes" : "NO"}; hardware accelerations: ${hw.join(", ") || "none"}`;
  if (missing.length > 0) return { result: { name, status: "fail", detail, fix: `this ffmpeg cannot decode ${missing.join(", ")}: use a full build (Debian's ffmpeg)` }, ffmpeg: found };
  return { result: { name, status: "pass", detail }, ffmpeg: found };
}

const probeSchema = z.object({
  streams: z.array(z.object({ codec_type: z.string().optional(), codec_name: z.string().optional(), width: z.number().optional(), height: z.number().optional() }).loose()).default([]),
}).loose();

export async function checkCamera(camera: CameraConfig, ffmpeg: FfmpegBinary | undefined): Promise<CheckResult> {
  const name = `camera ${camera.name}`;
  if (camera.url.startsWith("demo://")) return { name, status: "pass", detail: "demo camera (generated by ffmpeg)" };
  const ffprobe = ffmpeg ? resolveFfprobe(ffmpeg) : undefined;
  if (ffprobe === undefined) return { name, status: "fail", detail: "ffprobe not found, cannot check", fix: "install ffmpeg (it includes ffprobe)" };
  const rtsp = /^rtsps?:/i.test(camera.url) ? ["-rtsp_transport", "tcp", "-timeout", "5000000"] : [];
  const started = Date.now();
  const out = await run(ffprobe, ["-v", "error", ...rtsp, "-show_streams", "-of", "json", camera.url], 12_000);
  const took = Date.now() - started;
  const parsed = (() => {
    try {
      return probeSchema.safeParse(JSON.parse(out.stdout));
    } catch {
      return undefined; // no JSON: ffprobe failed, reported below
    }
  })();
  const video = parsed?.success ? parsed.data.streams.find((s) => s.codec_type === "video") : undefined;
  if (out.code !== 0 || !video) {
    const why = errorMessage(out.stderr.trim().split("\n").at(-1) ?? `exit ${String(out.code)}`);
    return { name, status: "fail", detail: `${urlLabel(camera.url)} not readable after ${took} ms: ${why}`, fix: "check the camera's address, port, path, user and password (open the URL in VLC), and that RTSP over TCP is allowed" };
  }
  const audio = parsed?.success ? parsed.data.streams.find((s) => s.codec_type === "audio") : undefined;
  return {
    name,
    status: "pass",
    detail: `${urlLabel(camera.url)} in ${took} ms: ${video.codec_name ?? "?"} ${video.width ?? "?"}x${video.height ?? "?"}, audio ${audio ? (audio.codec_name ?? "yes") : "none"}`,
  };
}

/** The MQTT broker of the doorbell triggers accepts the bot's connection. */
export async function checkMqtt(config: Config): Promise<CheckResult | undefined> {
  const mqtt = config.triggers.mqtt;
  if (mqtt === undefined) return undefined;
  const name = "MQTT broker";
  const broker = redactUrl(mqtt.url);
  const started = Date.now();
  return new Promise((resolve) => {
    const client = connect(mqtt.url, {
      clientId: `matrix-camera-call-doctor-${process.pid}`,
      connectTimeout: TIMEOUT_MS,
      reconnectPeriod: 0,
      ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
      ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
    });
    const finish = (result: CheckResult): void => {
      clearTimeout(timer);
      client.end(true);
      resolve(result);
    };
    const timer = setTimeout(() => {
      finish({ name, status: "fail", detail: `${broker}: no answer within ${TIMEOUT_MS} ms`, fix: "check triggers.mqtt.url and that the broker runs and is reachable" });
    }, TIMEOUT_MS);
    client.once("connect", () => {
      finish({ name, status: "pass", detail: `${broker} accepted the connection in ${Date.now() - started} ms` });
    });
    client.once("error", (err) => {
      finish({ name, status: "fail", detail: `${broker}: ${errorMessage(err)}`, fix: "check triggers.mqtt.url, username and password (the broker refused or cannot be reached)" });
    });
  });
}
