/**
 * Talkback through the camera's ONVIF backchannel, on real parts: Synapse, the GStreamer ONVIF camera (digest auth)
 * that decodes and records what its backchannel receives, the bot in-process with `talkback: { onvif: true }`, and
 * matrix-js-sdk callees (wrtc) whose microphones play known tones.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { probeBackchannel } from "../../src/talkback/onvif/probe.ts";
import type { IncomingCall } from "../harness/callee.ts";
import { reportFigure } from "../harness/figures.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import { readBackchannel, type BackchannelRecord, type RtspCamera } from "../harness/rtsp-camera.ts";
import { toneWindows } from "../harness/tone-analysis.ts";
import { TONE_AMPLITUDE, toneMic } from "../harness/tone-mic.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { waitFor } from "../harness/wait.ts";

const RATE = 8000;
let rig: Rig;
let camera: RtspCamera;
let app: App;
let file: string;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function samplesOf(records: readonly BackchannelRecord[]): Int16Array {
  const out = new Int16Array(records.reduce((n, r) => n + r.samples.length, 0));
  let at = 0;
  for (const r of records) {
    out.set(r.samples, at);
    at += r.samples.length;
  }
  return out;
}

function toneCount(samples: Int16Array, hz: number): number {
  return toneWindows(samples, RATE, [hz]).filter((w) => (w.amplitude[hz] ?? 0) > TONE_AMPLITUDE / 4).length;
}

async function ring(i: number, cam: string): Promise<IncomingCall> {
  const call = await rig.ring(["alice", "bob"][i] ?? "", cam, 20_000);
  await call.answer();
  await call.waitForFrames(5, 20_000);
  // A microphone muted in an earlier call stays muted (the media handler keeps its stream).
  await call.call.setMicrophoneMuted(false);
  return call;
}

/** Talks in bursts (the stimulus: set times, not waits for a condition); returns the onsets. */
async function bursts(n: number, onMs: number, offMs: number): Promise<number[]> {
  const onsets: number[] = [];
  for (let i = 0; i < n; i++) {
    toneMic.talk(true);
    onsets.push(toneMic.onsets.at(-1) ?? Date.now());
    await sleep(onMs);
    toneMic.talk(false);
    await sleep(offMs);
  }
  return onsets;
}

/** Mouth → door: from each burst's onset to the arrival at the camera of the first buffer carrying the tone. */
function latencies(records: readonly BackchannelRecord[], onsets: readonly number[], hz: number): number[] {
  return onsets.map((t0) => {
    const hit = records.find((r) => r.at >= t0 && toneCount(r.samples, hz) > 0);
    return hit === undefined ? Infinity : hit.at - t0;
  });
}

const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

/**
 * Not in the default suite: GStreamer 1.22's ONVIF test camera loses backchannel sessions. With the camera's video
 * already taken by the bot's ffmpeg (`keepWarm`), 8 of 8 runs of the first test got nothing to the camera's sink; with
 * ffmpeg connecting at the same time as the backchannel (the default here), 6 of 22 runs. In those runs the bot's
 * session was up (DESCRIBE, SETUP, PLAY answered 200) and it sent its steady stream (about 790 RTP packets of 20 ms,
 * none dropped) on the channel the camera gave, and the camera's appsink was found and PLAYING, yet it received no
 * sample. Until the test camera is fixed, `npm run test:onvif` (MCC_ONVIF_E2E=1) runs this file; the ONVIF client's
 * parsing, auth and hostile answers are tested in the default suite (test/unit/talkback-onvif.test.ts), and the
 * callee → mix → door path end to end by test/e2e/talkback-exec.test.ts.
 */
const onvifE2e = process.env["MCC_ONVIF_E2E"] === "1";

beforeAll(async () => {
  if (!onvifE2e) return;
  file = path.join(mkdtempSync(path.join(tmpdir(), "mcc-onvif-")), "backchannel.raw");
  rig = await startRig({
    name: "onvif",
    cameras: {
      door: {
        width: 320,
        height: 240,
        fps: 10,
        audio: "pcma",
        user: "admin",
        password: "door-Pa55",
        backchannel: "pcmu",
        backchannelFile: file,
      },
    },
    users: [
      { name: "alice", tone: 1000 },
      { name: "bob", tone: 600 },
    ],
    config: ({ cameras }) => ({ cameras: [{ name: "door", url: cameras["door"]?.url, talkback: { onvif: true } }] }),
  });
  camera = rig.camera("door");
  app = rig.app;
}, 180_000);

afterEach(async () => {
  if (!onvifE2e) return;
  // A failed test must not leave its call up for the next one (the room would be busy).
  await app.calls.hangupAll();
  toneMic.talk(false);
});

afterAll(async () => {
  if (onvifE2e) await rig.stop();
});

describeE2E(
  "talkback: { onvif: true }",
  () => {
    it("the callee's tone reaches the camera's speaker (frequency, > 95 % of talk time), silence while muted, nothing after hangup", async () => {
      const linked = camera.backchannelsLinked();
      const call = await ring(0, "door");
      await waitFor("the backchannel", () => camera.backchannelsLinked() >= linked + 1, { timeoutMs: 15_000 });
      const start = readBackchannel(file).length;
      const onsets = await bursts(10, 300, 300);
      await call.call.setMicrophoneMuted(true);
      await bursts(2, 500, 0);
      await sleep(300);
      const records = readBackchannel(file).slice(start);
      const samples = samplesOf(records);
      const tone = toneCount(samples, 1000);
      const windows = toneWindows(samples, RATE, [1000]);
      const toneHz = windows.filter((w) => (w.amplitude[1000] ?? 0) > TONE_AMPLITUDE / 4).map((w) => w.zeroCrossingHz);
      const lat = latencies(records, onsets, 1000);
      reportFigure("talkback onvif", {
        toneWindows: tone,
        expected: 150,
        medianHz: pct(toneHz, 50),
        latencyMs: lat.map(Math.round),
        p50: pct(lat, 50),
        p95: pct(lat, 95),
      });
      // 10 bursts of 300 ms = 150 windows of 20 ms, plus up to 2 windows straddling each burst's edges and timer
      // overshoot on a busy machine (measured: 161); the 1 s talked while muted would add 50.
      expect(tone / 150).toBeGreaterThan(0.95);
      expect(tone).toBeLessThanOrEqual(180);
      expect(pct(toneHz, 50)).toBeGreaterThan(950);
      expect(pct(toneHz, 50)).toBeLessThan(1050);
      expect(pct(lat, 95)).toBeLessThan(1000);

      call.hangup();
      await call.ended();
      await waitFor("the backchannel client to leave", () => camera.clientsConnected() === 0, { timeoutMs: 10_000 });
      const after = readBackchannel(file).length;
      await bursts(1, 1000, 0);
      expect(readBackchannel(file).length, "nothing after hangup").toBe(after);
    });

    it("two callees share one backchannel session carrying their mix", async () => {
      const linked = camera.backchannelsLinked();
      const first = await ring(0, "door");
      const second = await ring(1, "door");
      await waitFor("the backchannel", () => camera.backchannelsLinked() >= linked + 1, { timeoutMs: 15_000 });
      const start = readBackchannel(file).length;
      await bursts(1, 2000, 300);
      const windows = toneWindows(samplesOf(readBackchannel(file).slice(start)), RATE, [1000, 600]);
      const both = windows.filter(
        (w) => (w.amplitude[1000] ?? 0) > TONE_AMPLITUDE / 4 && (w.amplitude[600] ?? 0) > TONE_AMPLITUDE / 4,
      ).length;
      reportFigure("talkback onvif mix", { bothWindows: both, expected: 100 });
      expect(both / 100).toBeGreaterThan(0.95);
      expect(camera.backchannelsLinked(), "one backchannel session for two calls").toBe(linked + 1);
      first.hangup();
      second.hangup();
      await Promise.all([first.ended(), second.ended()]);
    });

    it("the camera restarts mid-call: the call stays up and the backchannel comes back with the camera", async () => {
      const linked = camera.backchannelsLinked();
      const call = await ring(0, "door");
      await waitFor("the backchannel", () => camera.backchannelsLinked() >= linked + 1, { timeoutMs: 15_000 });
      await camera.restart();
      const restarted = performance.now();
      const back = await waitFor(
        "the backchannel to come back",
        () => (camera.backchannelsLinked() >= linked + 2 ? performance.now() : undefined),
        { timeoutMs: 30_000 },
      );
      const start = readBackchannel(file).length;
      await bursts(1, 1000, 300);
      expect(toneCount(samplesOf(readBackchannel(file).slice(start)), 1000) / 50).toBeGreaterThan(0.9);
      expect(call.isEnded()).toBe(false);
      reportFigure("talkback onvif camera restart", { backAfterMs: Math.round(back - restarted) });
      call.hangup();
      await call.ended();
    });

    // Last: after a client that only DESCRIBEd with the backchannel header, GStreamer 1.22's ONVIF server sometimes
    // (2 runs of 4) delivers the next client's backchannel audio nowhere; seen with this probe, not with the bot.
    it("doctor's probe finds the camera's backchannel and its codec (with the URL's digest credentials)", async () => {
      expect(await probeBackchannel(camera.url)).toEqual({ ok: true, codec: "PCMU/8000" });
      expect(await probeBackchannel(camera.urlWithoutCredentials)).toEqual({ ok: false, reason: "the camera answered DESCRIBE with 401" });
    });
  },
  onvifE2e ? undefined : "MCC_ONVIF_E2E=1 runs it (the GStreamer ONVIF test camera loses backchannel sessions, see the file)",
);
