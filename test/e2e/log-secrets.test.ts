/**
 * No secret in any log: the bot runs as a real process (src/main.ts, logLevel trace, so matrix-bot-sdk's debug
 * lines and every ffmpeg stderr line are logged too) with everything it prints, stdout and stderr, captured to one
 * file. A full scenario runs against it: a call with !status and !hangup, the camera dropping and coming back
 * mid-call, doorbell webhook presses (right token, wrong ones, the token in the wrong places), SIGTERM, then
 * `doctor` (text and --json, its output appended to the same file). The file is then searched for the access token,
 * the RTSP password and the webhook token. Three more cameras, kept warm, point at a closed port with credentials
 * the URL user-info pattern cannot see (a password with a quote, a space and a double quote; XMEye-style credentials in
 * the path; Foscam-style ones in the query): ffmpeg prints each URL whole when it cannot open it, on every retry.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../src/dev/local-synapse.ts";
import { startCallee, type Callee } from "../harness/callee.ts";
import { startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";
import { openDirectChat } from "../harness/dm.ts";
import { waitFor } from "../harness/wait.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

const RTSP_PASSWORD = "rtsp-Secr3t-pw-4711";
const WEBHOOK_TOKEN = "webhook-T0ken-never-logged-0815";
/** Secrets of the cameras on the closed port (M2), and how their URLs are built. */
const QUOTE_PASSWORD = `it's a "pw" 0815`;
const PATH_PASSWORD = "Xm3ye-path-pw";
const QUERY_PASSWORD = "F0scam-query-pw";
const cameraUrls = (port: number): Record<string, string> => ({
  CAM_QUOTE_URL: `rtsp://admin:${QUOTE_PASSWORD}@127.0.0.1:${port}/s`,
  CAM_PATH_URL: `rtsp://127.0.0.1:${port}/user=admin_password=${PATH_PASSWORD}_channel=1_stream=0.sdp`,
  CAM_QUERY_URL: `http://127.0.0.1:${port}/video.cgi?user=admin&pwd=${QUERY_PASSWORD}`,
});
let closedPort: number;

let synapse: SynapseHandle;
let camera: RtspCamera;
let bot: RegisteredUser;
let alice: Callee;
let dm: string;
let base: string;
let logFile: string;
let configFile: string;
let proc: ChildProcess;
let exited: Promise<number | null>;
const cleanups: (() => Promise<unknown>)[] = [];

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...cameraUrls(closedPort),
    MCC_ACCESS_TOKEN: bot.accessToken,
    CAM_PASSWORD: RTSP_PASSWORD,
    MCC_WEBHOOK_TOKEN: WEBHOOK_TOKEN,
    LOG_FORMAT: "json",
  };
}

/** Runs a TypeScript entry point with tsx, everything it prints appended to the log file. */
function run(entry: string, args: string[]): ChildProcess {
  const out = openSync(logFile, "a");
  try {
    return spawn(process.execPath, ["--import", "tsx", entry, ...args], { env: env(), stdio: ["ignore", out, out] });
  } finally {
    closeSync(out);
  }
}

const log = (): string => readFileSync(logFile, "utf8");

async function press(headers: Record<string, string>, body = "{}"): Promise<number> {
  const res = await fetch(`${base}/ring/cam`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  await res.body?.cancel();
  return res.status;
}

beforeAll(async () => {
  synapse = await startSynapse();
  cleanups.push(() => synapse.stop());
  camera = await startRtspCamera({ width: 640, height: 360, fps: 15, audio: "pcma", user: "admin", password: RTSP_PASSWORD });
  cleanups.push(() => camera.stop());
  bot = await synapse.registerUser("secretbot");
  const aliceUser = await synapse.registerUser("alice");
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-log-secrets-"));
  logFile = path.join(dir, "everything.log");
  writeFileSync(logFile, "");
  const port = await freePort();
  closedPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  configFile = path.join(dir, "config.yaml");
  writeFileSync(
    configFile,
    [
      "homeserver:",
      `  url: ${synapse.baseUrl}`,
      "  accessToken: ${MCC_ACCESS_TOKEN}",
      `allowedUsers: ["${aliceUser.userId}"]`,
      "cameras:",
      "  - name: cam",
      `    url: "rtsp://admin:\${CAM_PASSWORD}@127.0.0.1:${camera.port}/cam"`,
      `    ring: { users: ["${aliceUser.userId}"], debounceMs: 0 }`,
      ...Object.keys(cameraUrls(0)).flatMap((name, i) => [`  - name: closed${i}`, `    url: "\${${name}}"`, "    keepWarm: true"]),
      "http:",
      `  listen: 127.0.0.1:${port}`,
      "triggers:",
      "  webhook:",
      "    token: ${MCC_WEBHOOK_TOKEN}",
      "media:",
      "  idleStopMs: 0",
      `dataDir: ${path.join(dir, "data")}`,
      "logLevel: trace",
      "",
    ].join("\n"),
  );
  proc = run("src/main.ts", ["--config", configFile]);
  exited = new Promise((resolve) =>
    proc.once("exit", (code) => {
      resolve(code);
    }),
  );
  cleanups.push(async () => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await exited;
  });
  await waitFor("/healthz", async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000 });
  alice = await startCallee({ ...aliceUser, baseUrl: synapse.baseUrl, autoJoin: true });
  cleanups.push(() => alice.stop());
  dm = await openDirectChat(alice.client, bot.userId);
}, 180_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeE2E("secrets in the logs", () => {
  it("a call (camera outage included), doorbell presses, doctor and a shutdown leave no secret in any output", async () => {
    // A call with !status, the camera away and back, and !hangup.
    const ringing = alice.nextIncomingCall(30_000);
    await alice.client.sendTextMessage(dm, "!call cam");
    const call = await ringing;
    await call.answer();
    await call.waitForFrames(15, 20_000);
    await alice.client.sendTextMessage(dm, "!status");
    await waitFor("the !status reply", () => alice.messages(dm).some((m) => m.startsWith("Calls in progress")));
    await camera.stop();
    await waitFor(
      "the outage in the log",
      () =>
        log()
          .split("\n")
          .some((l) => l.includes('"camera":"cam"') && l.includes("camera stream ended; reconnecting")),
      { timeoutMs: 20_000 },
    );
    await camera.restart();
    const frames = call.video().frames;
    await call.waitForFrames(frames + 30, 30_000);
    await alice.client.sendTextMessage(dm, "!hangup");
    await call.ended();

    // Doorbell presses: wrong tokens (also the real one in the wrong places), then the right one.
    expect(await press({})).toBe(401);
    expect(await press({ authorization: `Basic ${WEBHOOK_TOKEN}` })).toBe(401);
    expect(await press({ authorization: "Bearer not-the-token-at-all-0000" }, JSON.stringify({ token: WEBHOOK_TOKEN }))).toBe(401);
    const rung = alice.nextIncomingCall(30_000);
    expect(await press({ authorization: `Bearer ${WEBHOOK_TOKEN}` })).toBe(202);
    const doorbell = await rung;
    await doorbell.answer();
    await doorbell.waitForFrames(15, 20_000);
    doorbell.hangup();
    await waitFor("the doorbell call finished", () => log().split('"msg":"call finished"').length - 1 >= 2, { timeoutMs: 15_000 });

    proc.kill("SIGTERM");
    expect(await exited).toBe(0);

    // doctor, as an operator runs it (the bot stopped: it checks that the HTTP port can be bound), into the same file.
    // Only the cameras on the closed port fail.
    for (const args of [
      ["--config", configFile],
      ["--config", configFile, "--json"],
    ]) {
      const doctor = run("src/doctor-main.ts", args);
      const code = await new Promise<number | null>((resolve) => doctor.once("exit", resolve));
      expect(code).toBe(1);
    }
    expect(
      log()
        .split("\n")
        .filter((l) => l.startsWith("FAIL"))
        .map((l) => l.split(":")[0]),
    ).toEqual(["FAIL  camera closed0", "FAIL  camera closed1", "FAIL  camera closed2"]);

    const text = log();
    // It is a full log: the bot's trace lines, matrix-bot-sdk's, ffmpeg's, doctor's report.
    expect(text.split("\n").length).toBeGreaterThan(200);
    for (const marker of [
      '"msg":"ffmpeg"',
      '"component":"matrix-bot-sdk"',
      '"msg":"doorbell webhook pressed"',
      "camera cam",
      '"checks"',
      '"msg":"stopped"',
    ])
      expect(text).toContain(marker);
    expect(text).toContain("rtsp://***@127.0.0.1");
    // ffmpeg's complaints about the closed-port cameras were logged (on every retry) and reported by doctor.
    expect(text.split(": Connection refused").length - 1).toBeGreaterThan(6);
    const secrets = [
      ["access token", bot.accessToken],
      ["RTSP password", RTSP_PASSWORD],
      ["webhook token", WEBHOOK_TOKEN],
      ["password with quotes and spaces", QUOTE_PASSWORD],
      ["its JSON form", JSON.stringify(QUOTE_PASSWORD).slice(1, -1)],
      ["its first word", "it's a"],
      ["password in the URL path", PATH_PASSWORD],
      ["password in the query", QUERY_PASSWORD],
      ["user in the path", "user=admin"],
    ] as const;
    for (const [name, secret] of secrets) expect(text.includes(secret), `${name} found in the log`).toBe(false);
  }, 180_000);
});
