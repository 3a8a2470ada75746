/**
 * Relay-only ICE through a real TURN server: Debian's coturn on 127.0.0.1 with a REST shared secret, Synapse handing
 * out credentials for it (turn_uris, turn_shared_secret), and the callee with iceTransportPolicy "relay"
 * (matrix-js-sdk's forceTURN), so every packet of the call goes through the relay. The call connects and carries
 * video over a relay candidate pair. Then the relay goes silent (SIGSTOP: nothing is closed, nothing is said, as when
 * a network vanishes): mid-call the bot hangs up with ice_timeout, and before ICE ever connected with ice_failed, both
 * within 35 s with the default calls.iceDisconnectedTimeoutMs (30 s).
 */
import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startApp, type App } from "../../src/app.ts";
import type { CallEnd } from "../../src/call/call-core.ts";
import { parseConfig } from "../../src/config/load.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { openPeerConnectionCount } from "../../src/rtc/wrtc.ts";
import { startCallee, type Callee, type IncomingCall } from "../harness/callee.ts";
import { startCoturn, type Coturn } from "../harness/coturn.ts";
import { reportFigure } from "../harness/figures.ts";
import { startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";
import { openDirectChat } from "../harness/dm.ts";
import { nextEvent, waitFor } from "../harness/wait.ts";

let turn: Coturn;
let synapse: SynapseHandle;
let camera: RtspCamera;
let app: App;
let bot: RegisteredUser;
let callee: Callee;
let dm: string;
const cleanups: (() => Promise<unknown>)[] = [];
const rung: IncomingCall[] = [];

interface Stat {
  id: string;
  type: string;
  candidateType?: string;
  selectedCandidatePairId?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  bytesReceived?: number;
}

async function statsOf(call: IncomingCall): Promise<Map<string, Stat>> {
  const pc = call.call.peerConn;
  if (pc === undefined) throw new Error("no peer connection");
  const out = new Map<string, Stat>();
  (await pc.getStats()).forEach((s: Stat) => out.set(s.id, s));
  return out;
}

/** The next call to end in the bot, as the call manager reports it (within 60 s). */
function nextEnd(): Promise<CallEnd> {
  return nextEvent<[CallEnd]>(app.calls, "ended", "a call to end", 60_000).then(([end]) => end);
}

async function ring(): Promise<IncomingCall> {
  const ringing = callee.nextIncomingCall(30_000);
  await callee.client.sendTextMessage(dm, "!call cam");
  const call = await ringing;
  rung.push(call);
  return call;
}

async function releasedEverything(): Promise<void> {
  await waitFor("no call, no ffmpeg, no peer connection", () => app.calls.activeCount() === 0 && liveFfmpegCount() === 0 && openPeerConnectionCount() === 0, { timeoutMs: 10_000 });
}

beforeAll(async () => {
  turn = await startCoturn();
  cleanups.push(() => turn.stop());
  synapse = await startSynapse({ turn: { uris: [turn.uri], sharedSecret: turn.sharedSecret, userLifetimeMs: 3_600_000 } });
  cleanups.push(() => synapse.stop());
  camera = await startRtspCamera({ width: 640, height: 360, fps: 15, audio: "pcma" });
  cleanups.push(() => camera.stop());
  bot = await synapse.registerUser("turnbot");
  const alice = await synapse.registerUser("alice");
  app = await startApp(
    parseConfig({
      homeserver: { url: synapse.baseUrl, accessToken: bot.accessToken },
      allowedUsers: [alice.userId],
      cameras: [{ name: "cam", url: camera.url, maxWidth: 640, maxHeight: 360 }],
      media: { idleStopMs: 0 },
      dataDir: mkdtempSync(path.join(tmpdir(), "mcc-turn-relay-")),
    }),
    { log: pino({ level: process.env["TEST_LOG_LEVEL"] ?? "silent" }) },
  );
  cleanups.push(() => app.stop());
  callee = await startCallee({ ...alice, baseUrl: synapse.baseUrl, autoJoin: true, forceTURN: true });
  cleanups.push(() => callee.stop());
  await waitFor("the callee's TURN servers from Synapse", () => callee.client.getTurnServers().length > 0);
  dm = await openDirectChat(callee.client, bot.userId);
}, 180_000);

afterEach(() => {
  turn.thaw();
  for (const call of rung.splice(0)) if (!call.isEnded()) call.hangup();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("relay-only ICE through coturn", () => {
  it("the bot takes TURN credentials from Synapse; a relay-only callee connects over a relay pair and decodes video", async () => {
    // The credentials are Synapse's (TURN REST API: username "<expiry>:<user>", password HMAC-SHA1 of it with the
    // shared secret), for the URI Synapse was given.
    const [server] = await app.turn.iceServers();
    expect(server?.urls).toEqual([turn.uri]);
    const username = String(server?.username);
    expect(username).toMatch(new RegExp(`^\\d+:${bot.userId}$`));
    expect(server?.credential).toBe(createHmac("sha1", turn.sharedSecret).update(username).digest("base64"));

    const call = await ring();
    await call.answer();
    const video = await call.waitForFrames(30, 20_000);
    expect({ width: video.width, height: video.height }).toEqual({ width: 640, height: 360 });

    const stats = await statsOf(call);
    const transport = [...stats.values()].find((s) => s.type === "transport" && s.selectedCandidatePairId !== undefined);
    const pair = stats.get(transport?.selectedCandidatePairId ?? "");
    const local = stats.get(pair?.localCandidateId ?? "");
    expect(local?.candidateType).toBe("relay");
    expect(pair?.bytesReceived).toBeGreaterThan(10_000);
    // Relay-only: the callee has no other kind of candidate at all.
    const localTypes = new Set([...stats.values()].filter((s) => s.type === "local-candidate").map((s) => s.candidateType));
    expect([...localTypes]).toEqual(["relay"]);
    // coturn allocated relays for both: the callee's carries the call, the bot's proves its credentials work.
    expect(turn.allocatedUsernames()).toEqual(expect.arrayContaining([username, expect.stringMatching(new RegExp(`^\\d+:${callee.userId}$`))]));
    reportFigure("relay-only call through coturn", { selectedLocal: local?.candidateType, bytesReceived: pair?.bytesReceived, allocations: turn.allocatedUsernames().length });

    call.hangup();
    await releasedEverything();
  }, 60_000);

  it("the relay goes silent mid-call: the bot hangs up with ice_timeout (media had flowed) within 35 s", async () => {
    const call = await ring();
    await call.answer();
    await call.waitForFrames(15, 20_000);
    const ending = nextEnd();
    const cut = Date.now();
    turn.freeze();
    const end = await ending;
    const hangupMs = Date.now() - cut;
    turn.thaw();
    reportFigure("relay vanished mid-call: bot hangup after", { hangupMs, reason: end.reason });
    expect(end).toMatchObject({ party: "local", reason: "ice_timeout", connected: true });
    expect(hangupMs).toBeLessThan(35_000);
    const ended = await call.ended();
    expect(ended).toEqual({ hangupParty: "remote", hangupReason: "ice_timeout" });
    await releasedEverything();
  }, 60_000);

  it("the relay is gone before ICE ever connects: the bot hangs up with ice_failed within 35 s", async () => {
    const call = await ring();
    turn.freeze();
    const ending = nextEnd();
    await call.answer();
    const answered = Date.now();
    const end = await ending;
    const hangupMs = Date.now() - answered;
    turn.thaw();
    reportFigure("relay gone before ICE connected: bot hangup after the answer", { hangupMs, reason: end.reason });
    expect(end).toMatchObject({ party: "local", reason: "ice_failed", connected: false });
    expect(hangupMs).toBeLessThan(35_000);
    const ended = await call.ended();
    expect(ended).toEqual({ hangupParty: "remote", hangupReason: "ice_failed" });
    await releasedEverything();
  }, 60_000);
});
