/**
 * Relay-only ICE through a real TURN server: Debian's coturn on 127.0.0.1 with a REST shared secret, Synapse handing
 * out credentials for it (turn_uris, turn_shared_secret), and the callee with iceTransportPolicy "relay"
 * (matrix-js-sdk's forceTURN), so every packet of the call goes through the relay. The call connects and carries
 * video over a relay candidate pair. Then the relay goes silent (SIGSTOP: nothing is closed, nothing is said, as when
 * a network vanishes): mid-call the bot hangs up with ice_timeout within 55 s (about 18 s when libwebrtc reports
 * "failed"; when it reports "disconnected" first, the default calls.iceDisconnectedTimeoutMs of 30 s runs from there:
 * 37.6 s in a CI run on a loaded machine, as faults.test.ts allows), and before ICE ever connected with ice_failed
 * within 35 s.
 */
import { createHmac } from "node:crypto";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import type { CallEnd } from "../../src/call/call-core.ts";
import type { Callee, IncomingCall } from "../harness/callee.ts";
import { startCoturn, type Coturn } from "../harness/coturn.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { reportFigure } from "../harness/figures.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { nextEvent, waitFor } from "../harness/wait.ts";

let turn: Coturn;
let rig: Rig;
let app: App;
let bot: RegisteredUser;
let callee: Callee;
const cleanups: (() => Promise<unknown>)[] = [];

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

beforeAll(async () => {
  turn = await startCoturn();
  cleanups.push(() => turn.stop());
  rig = await startRig({
    name: "turn-relay",
    botName: "turnbot",
    synapse: { turn: { uris: [turn.uri], sharedSecret: turn.sharedSecret, userLifetimeMs: 3_600_000 } },
    cameras: { cam: { width: 640, height: 360, fps: 15, audio: "pcma" } },
    users: [{ name: "alice", forceTURN: true }],
    logLevel: process.env["TEST_LOG_LEVEL"] ?? "silent",
    config: ({ cameras }) => ({ cameras: [{ name: "cam", url: cameras["cam"]?.url, maxWidth: 640, maxHeight: 360 }] }),
  });
  cleanups.push(() => rig.stop());
  ({ app, bot } = rig);
  callee = rig.callee("alice");
  await waitFor("the callee's TURN servers from Synapse", () => callee.client.getTurnServers().length > 0);
}, 180_000);

afterEach(() => {
  turn.thaw();
  rig.hangUpRung();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describeE2E("relay-only ICE through coturn", () => {
  it("the bot takes TURN credentials from Synapse; a relay-only callee connects over a relay pair and decodes video", async () => {
    // The credentials are Synapse's (TURN REST API: username "<expiry>:<user>", password HMAC-SHA1 of it with the
    // shared secret), for the URI Synapse was given.
    const [server] = await app.turn.iceServers();
    expect(server?.urls).toEqual([turn.uri]);
    const username = String(server?.username);
    expect(username).toMatch(new RegExp(`^\\d+:${bot.userId}$`));
    expect(server?.credential).toBe(createHmac("sha1", turn.sharedSecret).update(username).digest("base64"));

    const call = await rig.ring("alice", "cam");
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
    expect(turn.allocatedUsernames()).toEqual(
      expect.arrayContaining([username, expect.stringMatching(new RegExp(`^\\d+:${callee.userId}$`))]),
    );
    reportFigure("relay-only call through coturn", {
      selectedLocal: local?.candidateType,
      bytesReceived: pair?.bytesReceived,
      allocations: turn.allocatedUsernames().length,
    });

    call.hangup();
    await rig.releasedEverything();
  }, 60_000);

  it("the relay goes silent mid-call: the bot hangs up with ice_timeout (media had flowed) within 55 s", async () => {
    const call = await rig.ring("alice", "cam");
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
    expect(hangupMs).toBeLessThan(55_000);
    const ended = await call.ended();
    expect(ended).toEqual({ hangupParty: "remote", hangupReason: "ice_timeout" });
    await rig.releasedEverything();
  }, 80_000);

  it("the relay is gone before ICE ever connects: the bot hangs up with ice_failed within 35 s", async () => {
    const call = await rig.ring("alice", "cam");
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
    await rig.releasedEverything();
  }, 60_000);
});
