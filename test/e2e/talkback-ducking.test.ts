/**
 * Echo ducking on real parts: while the callee talks through the door (talkback exec), the camera's own sound
 * toward the call — the GStreamer camera's 440 Hz tone, which stands for the door's microphone picking the voice
 * up again — is turned down by duckDb, and comes back once they are quiet. Measured at the callee, after Opus.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteStreams } from "../harness/callee.ts";
import { reportFigure } from "../harness/figures.ts";
import { startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { startSynapse, type SynapseHandle } from "../harness/synapse.ts";
import { ringByCommand, startTalkbackRig, type ToneCallee } from "../harness/talkback-rig.ts";
import { toneWindows } from "../harness/tone-analysis.ts";
import { toneMic } from "../harness/tone-mic.ts";
import { waitFor } from "../harness/wait.ts";
import { wrtc } from "../harness/webrtc-env.ts";

const CAMERA_HZ = 440;
const DUCK_DB = 15;
let synapse: SynapseHandle;
let camera: RtspCamera;
let user: ToneCallee;
const cleanups: (() => Promise<unknown>)[] = [];

/** The camera's tone at the callee: its level in each 10 ms chunk received, with the time it came. */
class CameraToneMeter {
  readonly levels: { at: number; amp: number }[] = [];
  level(fromMs: number, toMs: number): number {
    const amps = this.levels.filter((l) => l.at >= fromMs && l.at < toMs).map((l) => l.amp).sort((a, b) => a - b);
    return amps[Math.floor(amps.length / 2)] ?? 0;
  }
}

beforeAll(async () => {
  synapse = await startSynapse();
  cleanups.push(() => synapse.stop());
  const bot = await synapse.registerUser("camerabot");
  const alice = await synapse.registerUser("alice");
  camera = await startRtspCamera({ width: 320, height: 240, fps: 10, audio: "pcma" });
  cleanups.push(() => camera.stop());
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-ducking-"));
  const rig = await startTalkbackRig({
    synapse,
    bot,
    dir,
    cameraLines: ["  - name: door", `    url: "${camera.url}"`, "    talkback:", '      exec: ["tee", "/dev/null"]', `      duckDb: ${DUCK_DB}`],
    callees: [[alice, 1000]],
    cleanups,
  });
  const first = rig.users[0];
  if (first === undefined) throw new Error("no callee");
  user = first;
}, 180_000);

afterAll(async () => {
  toneMic.talk(false);
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("talkback ducking", () => {
  it("turns the camera's sound down while the callee talks, and back up after", async () => {
    const call = await ringByCommand(user, "door");
    await call.answer();
    await call.waitForFrames(5, 20_000);
    await call.waitForAudio(20_000);
    const track = remoteStreams(call.call)[0]?.getAudioTracks()[0];
    if (track === undefined) throw new Error("no remote audio track");
    const meter = new CameraToneMeter();
    const sink = new wrtc.nonstandard.RTCAudioSink(track);
    sink.ondata = (d) => {
      const w = toneWindows(d.samples, d.sampleRate, [CAMERA_HZ], 10)[0];
      meter.levels.push({ at: Date.now(), amp: w?.amplitude[CAMERA_HZ] ?? 0 });
    };
    try {
      await waitFor("the camera's tone at the callee", () => meter.level(Date.now() - 500, Date.now()) > 1000, { timeoutMs: 10_000 });
      const quietFrom = Date.now();
      await waitFor("2 s of the camera alone", () => Date.now() - quietFrom >= 2000, { timeoutMs: 5000 });
      const before = meter.level(quietFrom, Date.now());

      const talkFrom = Date.now();
      toneMic.talk(true);
      // Ducked: the tone's median level over the last 500 ms is under half the level before (-6 dB).
      await waitFor("the camera's sound to go down", () => meter.level(Date.now() - 200, Date.now()) < before / 2, { timeoutMs: 5000, intervalMs: 20 });
      const onsetMs = Date.now() - talkFrom;
      const duckedFrom = Date.now();
      await waitFor("2 s of talking", () => Date.now() - duckedFrom >= 2000, { timeoutMs: 5000 });
      const during = meter.level(duckedFrom, Date.now());
      toneMic.talk(false);
      const quietAgain = Date.now();
      await waitFor("the camera's sound to come back", () => meter.level(Date.now() - 200, Date.now()) > before * 0.8, { timeoutMs: 5000, intervalMs: 20 });
      const releaseMs = Date.now() - quietAgain;

      const duckedDb = 20 * Math.log10(before / Math.max(1, during));
      reportFigure("talkback ducking", { before: Math.round(before), during: Math.round(during), duckedDb: Number(duckedDb.toFixed(1)), configuredDb: DUCK_DB, onsetMs, releaseMs });
      // Opus and the jitter buffer blur the level a little: at least 12 of the 15 dB, at most 18.
      expect(duckedDb).toBeGreaterThan(DUCK_DB - 3);
      expect(duckedDb).toBeLessThan(DUCK_DB + 3);
      // The hold (300 ms) and the ramp (300 ms) come first: it does not come back at once between words.
      expect(releaseMs).toBeGreaterThan(300);
    } finally {
      sink.stop();
      call.hangup();
      await call.ended();
    }
  });
});
