/**
 * The embedded default: runDemo() alone gives a homeserver, the accounts, the bot with the `demo://clock` camera and
 * a direct chat; the demo user types `!call demo` in that chat (with matrix-js-sdk, Element's calling code), answers,
 * and gets 720p video and audio. Stopping leaves no Synapse and no ffmpeg; a second run reuses the accounts.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runDemo, readDemoState, type Demo } from "../../src/dev/demo.ts";
import { freePort } from "../../src/dev/local-synapse.ts";
import { passwordLogin } from "../../src/dev/matrix-http.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { openPeerConnectionCount } from "../../src/rtc/wrtc.ts";
import { startCallee, type Callee } from "../harness/callee.ts";
import { harnessLog } from "../harness/log.ts";
import { waitFor } from "../harness/wait.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

let dataDir: string;
let logFile: string;
let demo: Demo | undefined;
let callee: Callee | undefined;
const timings: Record<string, number> = {};

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err: unknown) {
    return err instanceof Error && "code" in err && err.code === "ESRCH";
  }
}

async function homeserverAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/_matrix/client/versions`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

async function startDemo(port: number): Promise<Demo> {
  const t0 = Date.now();
  const started = await runDemo({ port, dataDir, log: pino({ level: "debug" }, pino.destination({ dest: logFile, sync: true })) });
  timings[`run${Object.keys(timings).length + 1}`] = Date.now() - t0;
  return started;
}

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), "mcc-demo-e2e-"));
  logFile = path.join(dataDir, "test.log");
});

afterAll(async () => {
  await callee?.stop();
  await demo?.stop();
  harnessLog.info({ timings, dataDir }, "demo start times (ms)");
  if (process.env["KEEP_DEMO_DATA"] === undefined) rmSync(dataDir, { recursive: true, force: true });
});

describeE2E("the demo (embedded default)", () => {
  let first: { userId: string; password: string; roomId: string; url: string } | undefined;

  it("starts with no configuration; !call demo in the returned chat rings a 720p call with audio", async () => {
    const port = await freePort();
    demo = await startDemo(port);
    expect(demo.homeserverUrl).toBe(`http://127.0.0.1:${port}`);
    expect(demo.user.userId).toBe("@demo:localhost");
    expect(demo.firstRun).toBe(true);
    expect(demo.app.config.allowedUsers).toEqual(["@demo:localhost"]);
    expect(demo.app.config.cameras.map((c) => [c.name, c.url, c.maxWidth, c.maxHeight, c.maxFps])).toEqual([
      ["demo", "demo://clock", 1280, 720, 25],
    ]);
    expect(demo.app.config.dataDir).toBe(path.join(dataDir, "bot"));
    expect(statSync(path.join(dataDir, "demo-state.json")).mode & 0o777).toBe(0o600);
    first = { userId: demo.user.userId, password: demo.user.password, roomId: demo.roomId, url: demo.homeserverUrl };

    callee = await startCallee({ baseUrl: demo.homeserverUrl, ...demo.user });
    const room = callee.client.getRoom(demo.roomId);
    expect(room?.getMyMembership()).toBe("join");
    expect(
      room
        ?.getJoinedMembers()
        .map((m) => m.userId)
        .sort(),
    ).toEqual([demo.botUserId, demo.user.userId].sort());

    const ringing = callee.nextIncomingCall(20_000);
    await callee.client.sendTextMessage(demo.roomId, "!call demo");
    const call = await ringing;
    expect(call.roomId).toBe(demo.roomId);
    await call.answer();
    const video = await call.waitForFrames(25, 20_000);
    expect(video.frames).toBeGreaterThanOrEqual(25);
    expect({ width: video.width, height: video.height }).toEqual({ width: 1280, height: 720 });
    await call.waitForAudio(15_000);
    expect(call.audio().samples).toBeGreaterThan(0);
    expect(liveFfmpegCount()).toBe(1);

    call.hangup();
    await call.ended();
    await callee.stop();
    callee = undefined;

    const synapsePid = demo.synapse.pid();
    expect(synapsePid).toBeTypeOf("number");
    await demo.stop();
    demo = undefined;
    expect(liveFfmpegCount()).toBe(0);
    await waitFor("the peer connection to close", () => openPeerConnectionCount() === 0, { timeoutMs: 5_000 });
    expect(processGone(synapsePid ?? -1)).toBe(true);
    expect(await homeserverAnswers(first.url)).toBe(false);
  });

  it("a second run on the same data reuses the accounts, the password and the chat", async () => {
    if (first === undefined) throw new Error("the first run failed");
    demo = await startDemo(await freePort());
    expect(demo.firstRun).toBe(false);
    expect(demo.user.userId).toBe(first.userId);
    expect(demo.user.password).toBe(first.password);
    expect(demo.roomId).toBe(first.roomId);
    const login = await passwordLogin(demo.homeserverUrl, first.userId, first.password, "demo e2e");
    expect(login.userId).toBe(first.userId);
    const state = await readDemoState(dataDir);
    expect(state.user.userId).toBe(first.userId);
    expect(state.roomId).toBe(first.roomId);

    await demo.stop();
    demo = undefined;
    expect(liveFfmpegCount()).toBe(0);
  });
});
