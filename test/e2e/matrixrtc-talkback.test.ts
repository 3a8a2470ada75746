/**
 * Talkback in a MatrixRTC call (the doorbell answered on Element X): the callee's microphone in LiveKit reaches the
 * door's talkback command, only once the callee has joined the call, and the command ends with the call. Real parts
 * (startRtcRig: Synapse, livekit-server, the GStreamer camera, the bot in-process); the callee's LiveKit side is
 * rtc-node publishing a 1 kHz tone, its Matrix side matrix-js-sdk (the call.member Element X sends). A stranger who
 * got a token for the same LiveKit room (the test token service, like lk-jwt-service for an existing room, checks
 * only who they are) talks at 700 Hz and is never heard. The command is `tee -a FILE` (s16le, 8 kHz), read with the
 * talkback tests' tone analysis.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { RTC_NOTIFICATION_TYPE } from "../../src/matrixrtc/rtc-wire.ts";
import { sayToBot } from "../harness/bot-replies.ts";
import type { Callee } from "../harness/callee.ts";
import { reportFigure } from "../harness/figures.ts";
import { liveKitBinary } from "../harness/livekit.ts";
import { LiveKitSubscriber } from "../harness/livekit-subscriber.ts";
import { childrenNamed } from "../harness/proc-stats.ts";
import type { Rig } from "../harness/rig.ts";
import { connectAsElementX, leaveAsElementX, memberAsElementX } from "../harness/rtc-member.ts";
import { startRtcRig } from "../harness/rtc-rig.ts";
import type { SfuTokenService } from "../harness/sfu-token-service.ts";
import { s16le, toneWindows } from "../harness/tone-analysis.ts";
import { waitFor } from "../harness/wait.ts";

const found = liveKitBinary();
if ("skip" in found) process.stderr.write(`${found.skip}\n`);

const RATE = 8000;
const HZ = 1000;
const STRANGER_HZ = 700;
const AMPLITUDE = 8000;

let rtc: RtcNode;
let stopRtc: (() => Promise<void>) | undefined;
let rig: Rig;
let service: SfuTokenService;
let callee: Callee;
let dm: string;
let door: string;

function size(): number {
  return existsSync(door) ? statSync(door).size : 0;
}

/** The 20 ms windows of FILE from byte `from` on, and how many of them carry alice's tone and the stranger's. */
function toneCount(from: number): { tone: number; stranger: number; windows: number } {
  const samples = s16le(readFileSync(door).subarray(from - (from % 2)));
  const windows = toneWindows(samples, RATE, [HZ, STRANGER_HZ]);
  const count = (hz: number): number => windows.filter((w) => (w.amplitude[hz] ?? 0) > AMPLITUDE / 4).length;
  return { tone: count(HZ), stranger: count(STRANGER_HZ), windows: windows.length };
}

/** A LiveKit client of the rig user `name` in the DM's LiveKit room. */
async function liveKitClient(name: string): Promise<LiveKitSubscriber> {
  const client = new LiveKitSubscriber(rtc);
  await connectAsElementX(rig, name, dm, service.url, client);
  return client;
}

function rings(): number {
  const events = callee.client.getRoom(dm)?.getLiveTimeline().getEvents() ?? [];
  return events.filter((e) => e.getType() === RTC_NOTIFICATION_TYPE).length;
}

describe.skipIf("skip" in found)("talkback in a MatrixRTC call", () => {
  beforeAll(async () => {
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    rtc = loaded.rtc;
    const started = await startRtcRig("rtc-talkback", "rtctalkbot", {
      logLevel: "info",
      users: ["alice", { name: "mallory", as: "none" }],
      secondCamera: true,
      config: (ctx) => ({
        cameras: ["cam", "cam2"].map((name) => ({
          name,
          url: ctx.cameras[name]?.url,
          maxWidth: 640,
          maxHeight: 360,
          talkback: { exec: ["tee", "-a", path.join(ctx.dir, `${name}.raw`)], format: "s16le", rate: RATE },
        })),
        calls: { maxPerUserPerMinute: 100, defaultCamera: "cam" },
      }),
    });
    stopRtc = started.stop;
    ({ rig, service, dm } = started);
    callee = rig.callee("alice");
    door = path.join(rig.dir, "cam.raw");
    const reply = await sayToBot(callee, dm, rig.bot.userId, "!ring matrixrtc", (t) => t.startsWith("!call rings you"));
    expect(reply).toContain("MatrixRTC");
  }, 180_000);

  afterAll(async () => {
    await stopRtc?.();
  });

  it("the callee's microphone reaches the door once they joined, not while it rings, never a stranger's; !switch takes it to the other door; the command ends with the call", async () => {
    const before = rings();
    await callee.client.sendTextMessage(dm, "!call cam");
    await waitFor("alice to see the MatrixRTC ring", () => rings() > before, { timeoutMs: 20_000 });

    // Alice's client is in LiveKit and talking, but she has not joined the call (no call.member): nothing at the door.
    const phone = await liveKitClient("alice");
    let stranger: LiveKitSubscriber | undefined;
    try {
      await phone.publishTone(HZ, AMPLITUDE);
      await waitFor("the camera's video at alice", () => phone.video.frames > 0, { timeoutMs: 20_000 });
      await waitFor("alice's tone to be sent for 1 s", () => phone.toneFrames > 100, { timeoutMs: 10_000 });
      expect(size(), "nothing reaches the door while the call rings").toBe(0);
      expect(rig.logCount("talkback on: the callee's audio goes to the door")).toBe(0);

      await memberAsElementX(rig, "alice", dm, service.url);
      await waitFor("the talkback command to be fed", () => size() > RATE * 2 * 0.3, { timeoutMs: 15_000 });
      const from = size();
      await waitFor("2 s more at the door", () => size() >= from + RATE * 2 * 2, { timeoutMs: 15_000 });
      const heard = toneCount(from);
      reportFigure("matrixrtc talkback", heard);
      expect(heard.tone / heard.windows, `tone windows ${String(heard.tone)} of ${String(heard.windows)}`).toBeGreaterThan(0.9);

      // The stranger's microphone comes last (the newest microphone of the callee would be the one heard), for 2 s.
      stranger = await liveKitClient("mallory");
      const talker = stranger;
      await talker.publishTone(STRANGER_HZ, AMPLITUDE);
      const strangerFrom = size();
      await waitFor("the stranger to talk for 2 s", () => talker.toneFrames > 200, { timeoutMs: 10_000 });
      await waitFor("0.5 s more at the door", () => size() >= strangerFrom + RATE * 2 * 2.5, { timeoutMs: 15_000 });
      const during = toneCount(strangerFrom);
      reportFigure("matrixrtc talkback with a stranger in LiveKit", during);
      expect(during.stranger, "the stranger is never heard at the door").toBe(0);
      expect(during.tone / during.windows, "alice is still heard").toBeGreaterThan(0.9);

      // !switch to another door with talkback: her voice goes there from then on (talkback left and joined again in
      // one tick: the subscription is kept, its track read again).
      const reply = await sayToBot(callee, dm, rig.bot.userId, "!switch cam2", (t) => t.includes("cam2"));
      expect(reply).toBe("Now showing cam2.");
      door = path.join(rig.dir, "cam2.raw");
      await waitFor("the second door's command to be fed", () => size() > RATE * 2 * 0.3, { timeoutMs: 15_000 });
      const switchedFrom = size();
      await waitFor("2 s more at the second door", () => size() >= switchedFrom + RATE * 2 * 2, { timeoutMs: 15_000 });
      const switched = toneCount(switchedFrom);
      reportFigure("matrixrtc talkback after !switch", switched);
      expect(switched.tone / switched.windows, "alice is heard at the second door").toBeGreaterThan(0.9);

      await leaveAsElementX(rig, "alice", dm);
      await waitFor("the talkback command to end with the call", () => childrenNamed(process.pid, "tee").length === 0, {
        timeoutMs: 20_000,
      });
      // One "talkback off" for the first door at the !switch, one for the second at the end.
      expect(rig.logCount("talkback off")).toBe(2);
    } finally {
      await phone.stop();
      await stranger?.stop();
    }
  });
});
