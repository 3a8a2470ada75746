/**
 * `doctor` against a real Synapse: a good setup (TURN, well-known with an Element Call focus, a reachable
 * RTSP camera) passes; a broken one (wrong token, unreachable camera, no TURN, no rtc_foci) gets the right
 * verdict for each check, a fix hint, and a non-zero exit code from the real command line.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CheckResult } from "../../src/doctor/checks.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { checkListen } from "../../src/doctor/listen.ts";
import { exitCodeOf, runDoctor } from "../../src/doctor/run.ts";
import { startMosquitto, type Mosquitto } from "../harness/mosquitto.ts";
import { startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { startSynapse, type SynapseHandle } from "../harness/synapse.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

let good: SynapseHandle;
let bare: SynapseHandle;
let camera: RtspCamera;
let broker: Mosquitto;
const cleanups: (() => Promise<unknown>)[] = [];
const dir = mkdtempSync(path.join(tmpdir(), "mcc-doctor-"));

function writeConfig(name: string, hs: SynapseHandle, token: string, cameraUrl: string, mqttPassword?: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    [
      "homeserver:",
      `  url: ${hs.baseUrl}`,
      `  accessToken: "${token}"`,
      "allowedUsers: ['@alice:localhost']",
      "cameras:",
      "  - name: door",
      `    url: "${cameraUrl}"`,
      `dataDir: ${path.join(dir, name)}`,
      ...(mqttPassword !== undefined
        ? ["triggers:", "  mqtt:", `    url: ${broker.url}`, `    username: ${broker.username}`, `    password: "${mqttPassword}"`]
        : []),
      "",
    ].join("\n"),
  );
  return file;
}

function verdict(results: CheckResult[], name: string): CheckResult {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`no check named ${name}: ${results.map((x) => x.name).join(", ")}`);
  return r;
}

beforeAll(async () => {
  good = await startSynapse({
    turn: { uris: ["turn:127.0.0.1:3478?transport=udp"], sharedSecret: "doctor-secret" },
    extraConfig: {
      serve_client_wellknown: true,
      extra_well_known_client_content: {
        "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://rtc.example.org" }],
      },
    },
  });
  cleanups.push(() => good.stop());
  bare = await startSynapse();
  cleanups.push(() => bare.stop());
  camera = await startRtspCamera({ width: 640, height: 360, fps: 15, audio: "pcma", user: "viewer", password: "doc-pw-123" });
  cleanups.push(() => camera.stop());
  broker = await startMosquitto();
  cleanups.push(() => broker.stop());
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeE2E("doctor", () => {
  it("passes a good setup", async () => {
    const bot = await good.registerUser("docbot");
    const results = await runDoctor(writeConfig("good", good, bot.accessToken, camera.url, broker.password));
    expect(results.filter((r) => r.status === "fail")).toEqual([]);
    expect(verdict(results, "homeserver reachable").status).toBe("pass");
    expect(verdict(results, "access token valid").detail).toContain("@docbot:localhost");
    expect(verdict(results, "TURN").status).toBe("pass");
    expect(verdict(results, "well-known and Element Call focus").status).toBe("pass");
    expect(verdict(results, "ffmpeg").detail).toMatch(/h264 yes, h265 yes/);
    // The lean ffmpeg (built by bootstrap) reads the camera, so GStreamer is not checked (test/unit/doctor-gstreamer.test.ts).
    expect(verdict(results, "lean ffmpeg").status).toBe("pass");
    expect(verdict(results, "lean ffmpeg").detail).toMatch(/reads 1 rtsp:\/\/ camera/);
    expect(results.map((r) => r.name)).not.toContain("gstreamer");
    expect(verdict(results, "camera door").detail).toMatch(/h264 640x360, audio pcm_alaw/);
    expect(verdict(results, "MQTT broker").status).toBe("pass");
    expect(JSON.stringify(results)).not.toContain("doc-pw-123");
    expect(JSON.stringify(results)).not.toContain(broker.password);
    expect(exitCodeOf(results)).toBe(0);
  });

  it("explains a missing TURN server and a missing Element Call focus", async () => {
    const bot = await bare.registerUser("docbot2");
    const results = await runDoctor(writeConfig("bare", bare, bot.accessToken, camera.url));
    const turn = verdict(results, "TURN");
    expect(turn.status).toBe("warn");
    expect(turn.fix).toMatch(/turn_uris.*turn_shared_secret/);
    const wk = verdict(results, "well-known and Element Call focus");
    expect(wk.status).toBe("warn");
    expect(wk.fix).toContain("MISSING_MATRIX_RTC_FOCUS");
    expect(wk.fix).toMatch(/legacy calls .*not affected/i);
  });

  it("fails a wrong token and an unreachable camera, with a non-zero exit from the command line", async () => {
    const file = writeConfig("broken", good, "syt_wrong_token_abcdef", "rtsp://user:cam-pw-456@127.0.0.1:9/none", "wrong-mqtt-pw");
    const results = await runDoctor(file);
    expect(verdict(results, "MQTT broker").status).toBe("fail");
    expect(verdict(results, "access token valid").status).toBe("fail");
    const cam = verdict(results, "camera door");
    expect(cam.status).toBe("fail");
    expect(cam.fix).toBeTruthy();
    expect(JSON.stringify(results)).not.toContain("cam-pw-456");

    const cli = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/doctor-main.ts", "--config", file, "--json"], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
      });
      child.once("close", (code) => {
        resolve({ code, out });
      });
    });
    expect(cli.code).toBe(1);
    const parsed = JSON.parse(cli.out) as { ok: boolean; checks: CheckResult[] };
    expect(parsed.ok).toBe(false);
    expect(parsed.checks.find((c) => c.name === "access token valid")?.status).toBe("fail");
    expect(cli.out).not.toContain("syt_wrong_token_abcdef");
  }, 60_000);

  it("fails a listen port held by something that is not the bot", async () => {
    const holder = createServer((_req, res) => {
      res.end("not the bot");
    });
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = holder.address() as AddressInfo;
      const config = loadConfigFile(writeConfig("busy", bare, "syt_unused", camera.url));
      const result = await checkListen({ ...config, http: { ...config.http, listen: `127.0.0.1:${String(port)}` } });
      expect(result).toMatchObject({ status: "fail" });
      expect(result?.detail).toMatch(/EADDRINUSE, and what holds it is not matrix-camera-call/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it("reports an invalid configuration as a failing check naming the key", async () => {
    const file = path.join(dir, "invalid.yaml");
    writeFileSync(file, "homeserver:\n  url: not-a-url\n  accessToken: x\nallowedUsers: []\ncameras: []\n");
    const results = await runDoctor(file);
    expect(results).toHaveLength(1);
    expect(results[0]?.status).toBe("fail");
    expect(results[0]?.detail).toContain("homeserver.url");
    expect(exitCodeOf(results)).toBe(1);
  });
});
