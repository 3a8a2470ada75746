/**
 * Talkback through a command, on real parts: Synapse, the GStreamer camera, the bot in-process from a YAML config
 * with `talkback: { exec: ["tee", FILE] }`, and matrix-js-sdk callees (wrtc) whose microphones play known tones.
 * The command's stdin (s16le, 8 kHz) lands in FILE, which is read back and measured.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { reportFigure } from "../harness/figures.ts";
import { childrenNamed } from "../harness/proc-stats.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { s16le, toneWindows } from "../harness/tone-analysis.ts";
import { TONE_AMPLITUDE, toneMic } from "../harness/tone-mic.ts";
import { waitFor } from "../harness/wait.ts";

const RATE = 8000;
let rig: Rig;
let bot: RegisteredUser;
let dir: string;

function recording(name: string): Int16Array {
  const file = path.join(dir, name);
  return existsSync(file) ? s16le(readFileSync(file)) : new Int16Array(0);
}

function sizeOf(name: string): number {
  const file = path.join(dir, name);
  return existsSync(file) ? statSync(file).size : 0;
}

/** Windows where `hz` plays (at least a quarter of the microphone's level), and where anything at all is heard. */
function count(samples: Int16Array, hz: number): { tone: number; loud: number; windows: ReturnType<typeof toneWindows> } {
  const windows = toneWindows(samples, RATE, [hz]);
  return {
    tone: windows.filter((w) => (w.amplitude[hz] ?? 0) > TONE_AMPLITUDE / 4).length,
    loud: windows.filter((w) => w.rms > 300).length,
    windows,
  };
}

/**
 * Talks for `ms`; returns the 20 ms windows of tone each microphone (by Hz) really sent. Under load that is less than
 * `ms` says: the tone microphones share the event loop with the bot and skip what a stall kept them from sending
 * (284 of 300 chunks in a 3 s talk, three copies of this file at once beside two busy loops), so what reaches the door
 * is measured against what was said, not against the clock.
 */
async function talk(ms: number): Promise<Map<number, number>> {
  const before = new Map(toneMic.toneChunks);
  toneMic.talk(true);
  await new Promise((r) => setTimeout(r, ms)); // the speaker talks for a set time: this is the stimulus, not a wait for a condition
  toneMic.talk(false);
  const said = new Map<number, number>();
  for (const [hz, n] of toneMic.toneChunks) said.set(hz, (n - (before.get(hz) ?? 0)) / 2);
  return said;
}

const WINDOW_BYTES = (RATE * 2 * 20) / 1000;
/** Quiet windows (no tone of any microphone) needed at the end of the recording to know nothing said is still on its way. */
const QUIET_TAIL = 25;
/**
 * Tone windows that may still come after QUIET_TAIL: under load a stall held back the last 8 windows of a talk
 * behind a 21-window gap (three copies of this file, two busy loops and a bench on the two cores). A talk that
 * should not be heard and is heard (the microphone's mute, a hung-up callee) brings 50 to 100.
 */
const LATE_WINDOWS = 10;

function heardAnyTone(w: ReturnType<typeof toneWindows>[number]): boolean {
  return (w.amplitude[1000] ?? 0) > TONE_AMPLITUDE / 4 || (w.amplitude[600] ?? 0) > TONE_AMPLITUDE / 4;
}

/**
 * Waits until what was said has reached the command: the recording grew by QUIET_TAIL windows since the talk ended
 * and they hold no tone. The talk's last ~100-300 ms (more under load) are still in the jitter buffer and the mixer
 * when the microphone stops; a hangup right then cut them off (the recording ended on the tone, 7 of 50 windows short).
 */
async function heard(): Promise<void> {
  const at = sizeOf("door.raw");
  await waitFor(
    "what was said to reach the command",
    () => {
      if (sizeOf("door.raw") < at + QUIET_TAIL * WINDOW_BYTES) return false;
      const tail = recording("door.raw").subarray((-QUIET_TAIL * WINDOW_BYTES) / 2);
      return !toneWindows(tail, RATE, [1000, 600]).some(heardAnyTone);
    },
    { timeoutMs: 10_000 },
  );
}

beforeAll(async () => {
  rig = await startRig({
    name: "talkback",
    cameras: { cam: { width: 320, height: 240, fps: 10, audio: "pcma" } },
    users: [
      { name: "alice", tone: 1000 },
      { name: "bob", tone: 600 },
    ],
    config: ({ cameras, dir: rigDir }) => ({
      cameras: [
        {
          name: "door",
          url: cameras["cam"]?.url,
          talkback: { exec: ["tee", "-a", path.join(rigDir, "door.raw")], format: "s16le", rate: RATE },
        },
        { name: "yard", url: cameras["cam"]?.url },
      ],
    }),
  });
  dir = rig.dir;
  bot = rig.bot;
}, 180_000);

afterAll(async () => {
  await rig.stop();
});

describeE2E("talkback: { exec }", () => {
  it("the callee's voice reaches the command while connected, silence while muted, nothing while ringing or after hangup", async () => {
    toneMic.talk(true);
    const call = await rig.ring("alice", "door", 20_000);
    await new Promise((r) => setTimeout(r, 1500)); // ringing for a while with the microphone on
    expect(sizeOf("door.raw"), "nothing is played while the call rings").toBe(0);
    toneMic.talk(false);
    await call.answer();
    await call.waitForFrames(5, 20_000);
    await waitFor("the talkback command's file", () => sizeOf("door.raw") > RATE * 2 * 0.5, { timeoutMs: 10_000 });

    const alice = rig.callee("alice");
    const dm = rig.dm("alice");
    const seen = alice.messages(dm, bot.userId).length;
    await alice.client.sendTextMessage(dm, "!status");
    const status = await waitFor(
      "!status",
      () =>
        alice
          .messages(dm, bot.userId)
          .slice(seen)
          .find((m) => m.includes("Talkback:")),
      { timeoutMs: 10_000 },
    );
    expect(status).toMatch(/Talkback: @alice:[^ ]+ \(door\): exec s16le\/8000/);

    const said = (await talk(3000)).get(1000) ?? 0;
    await heard();
    await call.call.setMicrophoneMuted(true);
    const mutedFrom = sizeOf("door.raw") / 2;
    await talk(2000);
    call.hangup();
    await call.ended();
    const final = await waitFor(
      "the file to stop growing",
      async () => {
        const before = sizeOf("door.raw");
        await new Promise((r) => setTimeout(r, 500));
        return sizeOf("door.raw") === before ? before : undefined;
      },
      { timeoutMs: 10_000 },
    );

    expect(childrenNamed(process.pid, "tee"), "the command ended with the call").toEqual([]);
    const { tone, loud, windows } = count(recording("door.raw").subarray(0, mutedFrom), 1000);
    const muted = count(recording("door.raw").subarray(mutedFrom), 1000);
    reportFigure("talkback exec coverage", {
      toneWindows: tone,
      saidWindows: said,
      loudWindows: loud,
      mutedToneWindows: muted.tone,
      mutedLoudWindows: muted.loud,
      seconds: (windows.length + muted.windows.length) / 50,
    });
    // Every 20 ms window the microphone said reaches the command (3 s of talk = 150 windows, fewer when the
    // microphone skipped some under load). Not an upper bound: under load the receiver's jitter buffer stretches a
    // late tone (163 windows from 142 said, measured), which is not sound that was not said.
    expect(said, "the microphone talked").toBeGreaterThan(100);
    expect(tone / said, `tone windows ${tone} of ${said} said`).toBeGreaterThan(0.95);
    // Everything that came after the mute took effect: no tone, no sound (the talk while muted must add none).
    expect(muted.tone, "nothing while muted").toBeLessThanOrEqual(LATE_WINDOWS);
    expect(muted.loud, "nothing while muted").toBeLessThanOrEqual(LATE_WINDOWS);
    // Windows loud but not the tone: the receiver's concealment around a stall garbles a few (up to 8 per 3 s talk
    // under load); another sound on the line (the camera's, noise) would fill most of the recording's 300+ windows.
    expect(loud, "no sound but the tone").toBeLessThanOrEqual(tone + 15);
    const toneHz = windows
      .filter((w) => (w.amplitude[1000] ?? 0) > TONE_AMPLITUDE / 4)
      .map((w) => w.zeroCrossingHz)
      .sort((a, b) => a - b);
    expect(toneHz[Math.floor(toneHz.length / 2)]).toBeGreaterThan(950);
    expect(toneHz[Math.floor(toneHz.length / 2)]).toBeLessThan(1050);

    // After the hangup: the command is gone, the file stays as it was.
    toneMic.talk(true);
    await new Promise((r) => setTimeout(r, 1000));
    toneMic.talk(false);
    expect(sizeOf("door.raw")).toBe(final);
  });

  it("two callees on one camera: one command carrying their mix", async () => {
    const before = recording("door.raw").length;
    const first = await rig.ring("alice", "door", 20_000);
    await first.answer();
    await first.waitForFrames(5, 20_000);
    // The microphone stays muted from the previous call (the media handler keeps its stream).
    await first.call.setMicrophoneMuted(false);
    const second = await rig.ring("bob", "door", 20_000);
    await second.answer();
    await second.waitForFrames(5, 20_000);
    await waitFor("the talkback command", () => childrenNamed(process.pid, "tee").length > 0, { timeoutMs: 10_000 });
    expect(childrenNamed(process.pid, "tee")).toHaveLength(1);
    const saidBoth = await talk(2000);
    await heard();
    const secondFrom = sizeOf("door.raw") / 2;
    first.hangup();
    await first.ended();
    // Her hangup reaches the bot through Synapse; until then her peer connection may still send what her microphone
    // says (6 windows of her tone reached the door 140 ms into bob's next talk under load, the bot ending her call
    // 0.9 s later). "After her hangup" is after the bot ended her call.
    await waitFor("the bot to end alice's call", () => rig.app.calls.activeCount() === 1, { timeoutMs: 10_000 });
    expect(childrenNamed(process.pid, "tee"), "still one command for the second call").toHaveLength(1);
    const saidBob = (await talk(1000)).get(600) ?? 0;
    await heard();
    second.hangup();
    await second.ended();
    await waitFor("the command to end with the last call", () => childrenNamed(process.pid, "tee").length === 0, { timeoutMs: 10_000 });

    const has = (w: ReturnType<typeof toneWindows>[number], hz: number): boolean => (w.amplitude[hz] ?? 0) > TONE_AMPLITUDE / 4;
    const together = toneWindows(recording("door.raw").subarray(before, secondFrom), RATE, [1000, 600]);
    const alone = toneWindows(recording("door.raw").subarray(secondFrom), RATE, [1000, 600]);
    const aliceWindows = together.filter((w) => has(w, 1000)).length;
    const bobWindows = together.filter((w) => has(w, 600)).length;
    const both = together.filter((w) => has(w, 1000) && has(w, 600)).length;
    // The two voices come through two peer connections, each with its own jitter buffer: they reach the mixer apart
    // by the difference of the two buffers' delays, and only that part of what they said together is not heard
    // together. Under load (three copies of this file beside two busy loops and a bench) they were up to 36 windows
    // (720 ms) apart (a jitter buffer grown by earlier stalls); the mouth-to-door latency itself is the bench's. Most
    // of what they said together must still be heard together.
    const apart = Math.abs(together.findIndex((w) => has(w, 1000)) - together.findIndex((w) => has(w, 600)));
    const saidTogether = Math.min(saidBoth.get(1000) ?? 0, saidBoth.get(600) ?? 0);
    const bobOnly = alone.filter((w) => (w.amplitude[1000] ?? 0) < TONE_AMPLITUDE / 10 && has(w, 600)).length;
    reportFigure("talkback exec mix", {
      aliceWindows,
      bobWindows,
      bothWindows: both,
      saidTogether,
      apartWindows: apart,
      bobOnlyWindows: bobOnly,
      saidBob,
    });
    expect(saidTogether, "both microphones talked").toBeGreaterThan(60);
    // Each voice whole but for what the mixer drops to bound the latency: after a stall it keeps at most 200 ms of a
    // callee's audio (src/talkback/mixer.ts), and under load it dropped up to 580 ms of one callee over the call,
    // 6 of 100 windows of bob's voice here (12 copies of this run: lowest 94 %).
    expect(aliceWindows / (saidBoth.get(1000) ?? 0), "alice's voice reaches the command whole").toBeGreaterThan(0.9);
    expect(bobWindows / (saidBoth.get(600) ?? 0), "bob's voice reaches the command whole").toBeGreaterThan(0.9);
    expect(apart, "the two voices are heard together for most of their talk").toBeLessThanOrEqual(saidTogether / 2);
    expect(both / (saidTogether - apart), "heard together where said together (less what the mixer dropped)").toBeGreaterThan(0.9);
    expect(alone.filter((w) => has(w, 1000)).length, "nothing of alice after her hangup").toBeLessThanOrEqual(LATE_WINDOWS);
    expect(bobOnly / saidBob, "bob alone after alice's hangup").toBeGreaterThan(0.9);
  });
});
