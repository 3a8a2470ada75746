/**
 * The bot as a real process (`src/main.ts` with a config file): /healthz answers, /metrics counts a real
 * call, and SIGTERM during a call hangs it up (the callee sees the hangup), stops every camera front end (ffmpeg or gst-launch-1.0) and exits 0
 * within 5 s.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../src/dev/local-synapse.ts";
import { runDoctor } from "../../src/doctor/run.ts";
import { startCallee, type Callee } from "../harness/callee.ts";
import { startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { startSynapse, type SynapseHandle } from "../harness/synapse.ts";
import { openDirectChat } from "../harness/dm.ts";
import { waitFor } from "../harness/wait.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

let synapse: SynapseHandle;
let camera: RtspCamera;
let callee: Callee;
let bot: ChildProcess;
let exited: Promise<number | null>;
let base: string;
let dm: string;
let configFile: string;
let botToken: string;
const cleanups: (() => Promise<unknown>)[] = [];
const CAMERA_PATH = `ops${process.pid}`;

/** The camera front ends (ffmpeg or gst-launch-1.0) reading this test's camera. */
function frontEndsOfThisTest(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (/ffmpeg|gst-launch-1\.0/.test(cmd) && cmd.includes(CAMERA_PATH)) pids.push(Number(entry));
    } catch {
      continue; // the process ended while we looked
    }
  }
  return pids;
}

async function metric(name: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || (l.startsWith(name + "{") && l.includes(name)));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

beforeAll(async () => {
  synapse = await startSynapse();
  cleanups.push(() => synapse.stop());
  camera = await startRtspCamera({ width: 640, height: 360, fps: 15, audio: "pcma", path: CAMERA_PATH });
  cleanups.push(() => camera.stop());
  const botUser = await synapse.registerUser("opsbot");
  const alice = await synapse.registerUser("opsalice");
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-ops-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const file = path.join(dir, "config.yaml");
  configFile = file;
  botToken = botUser.accessToken;
  writeFileSync(
    file,
    [
      "homeserver:",
      `  url: ${synapse.baseUrl}`,
      "allowedUsers: ['@opsalice:localhost']",
      "cameras:",
      "  - name: cam",
      `    url: "${camera.url}"`,
      "http:",
      `  listen: 127.0.0.1:${port}`,
      "media:",
      "  idleStopMs: 60000",
      `dataDir: ${path.join(dir, "data")}`,
      "",
    ].join("\n"),
  );
  bot = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "--config", file], {
    env: { ...process.env, MCC_ACCESS_TOKEN: botUser.accessToken, LOG_FORMAT: "json" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  exited = new Promise((resolve) =>
    bot.once("exit", (code) => {
      resolve(code);
    }),
  );
  cleanups.push(async () => {
    if (bot.exitCode === null) bot.kill("SIGKILL");
    await exited;
  });
  await waitFor("/healthz to answer", async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.status === 200, {
    timeoutMs: 30_000,
  });

  callee = await startCallee({ ...alice, baseUrl: synapse.baseUrl, autoJoin: true });
  cleanups.push(() => callee.stop());
  dm = await openDirectChat(callee.client, botUser.userId);
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeE2E("operations", () => {
  it("/healthz reports ok and /metrics counts a real call", async () => {
    const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; cameras: Record<string, string> };
    expect(health).toMatchObject({ status: "ok", cameras: { cam: "stopped" } });
    expect(await metric('mcc_calls_total{outcome="answered"}')).toBe(0);

    const ringing = callee.nextIncomingCall(20_000);
    await callee.client.sendTextMessage(dm, "!call cam");
    const call = await ringing;
    await call.answer();
    await call.waitForFrames(10, 15_000);
    expect(await metric("mcc_active_calls")).toBe(1);
    expect(await metric('mcc_camera_pipeline_state{camera="cam",state="running"}')).toBe(1);
    expect(await metric('mcc_camera_frames_in_total{camera="cam"}')).toBeGreaterThan(0);
    // One call gets the camera's full picture; the budget in force is exported (the default: 60 per core, or less on a
    // machine whose encoding measured slower).
    expect(await metric('mcc_camera_picture_divisor{camera="cam"}')).toBe(1);
    expect(await metric("mcc_encode_budget_megapixels_per_second")).toBeGreaterThan(0);
    // The camera's own sound (PCMA) reaches the calls: its seconds grow; its gaps are exported beside them.
    await waitFor("the camera's sound counted", async () => ((await metric('mcc_camera_audio_seconds_total{camera="cam"}')) ?? 0) >= 0.5, {
      timeoutMs: 15_000,
    });
    expect(await metric('mcc_camera_audio_gap_seconds_total{camera="cam"}')).toBeGreaterThanOrEqual(0);
    // Frames out, per call, from the call's own sender: at least what the callee had decoded before the scrape, and
    // growing. libwebrtc serves getStats from a cache up to 50 ms old, so a frame or two may be missing from it (seen:
    // 10 sent against 11 decoded when the decoded count was read after the scrape).
    const decoded = call.video().frames;
    const sent = await metric("mcc_call_video_frames_sent");
    expect(sent).toBeGreaterThanOrEqual(decoded - 2);
    await waitFor(
      "more frames sent on the call",
      async () => ((await metric("mcc_call_video_frames_sent")) ?? 0) > (sent ?? Infinity) + 15,
      { timeoutMs: 10_000 },
    );
    expect(await metric("mcc_call_video_fps")).toBeGreaterThan(0);
    const before = callee.messages(dm).length;
    await callee.client.sendTextMessage(dm, "!status");
    const status = await waitFor("the !status reply", () =>
      callee
        .messages(dm)
        .slice(before)
        .find((m) => m.startsWith("Calls in progress")),
    );
    expect(status).toContain("Calls in progress: 1");
    expect(status).toMatch(/Cameras: cam running \(1 call\)/);
    expect(status).toContain("TURN: none");
    expect(status).toMatch(/cam → @opsalice:\S+: [\d.]+ fps \d+x\d+, \d+ frames sent/);
    call.hangup();
    await waitFor("the call counted as answered", async () => (await metric('mcc_calls_total{outcome="answered"}')) === 1);
    expect(await metric("mcc_active_calls")).toBe(0);
    expect(await metric("mcc_call_video_frames_sent")).toBeUndefined();
    expect(await metric('mcc_call_setup_seconds_count{phase="answer"}')).toBe(1);
    expect(await metric('mcc_call_setup_seconds_count{phase="connect"}')).toBe(1);
  });

  it("doctor run beside the bot recognises it on its HTTP port instead of failing with EADDRINUSE", async () => {
    const results = await runDoctor(configFile, { ...process.env, MCC_ACCESS_TOKEN: botToken });
    const listen = results.find((r) => r.name.startsWith("HTTP listener"));
    expect(listen).toMatchObject({ status: "pass" });
    expect(listen?.detail).toMatch(/^the bot is running there \(@opsbot:localhost, ok, 0 call\(s\) in progress\)$/);
    const health = (await (await fetch(`${base}/healthz`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ app: "matrix-camera-call", user: "@opsbot:localhost" });
  }, 60_000);

  it("SIGTERM during a call hangs it up, stops the camera's front end and exits 0 within 5 s", async () => {
    const ringing = callee.nextIncomingCall(20_000);
    await callee.client.sendTextMessage(dm, "!call cam");
    const call = await ringing;
    await call.answer();
    await call.waitForFrames(10, 15_000);
    expect(frontEndsOfThisTest().length).toBe(1);

    const sentAt = Date.now();
    bot.kill("SIGTERM");
    const code = await exited;
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(code).toBe(0);
    const end = await call.ended();
    expect(end.hangupParty).toBe("remote");
    expect(end.hangupReason).toBe("user_hangup");
    await waitFor("no front end of the bot left", () => frontEndsOfThisTest().length === 0, { timeoutMs: 3000 });
  }, 40_000);
});
