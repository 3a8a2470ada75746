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

async function talk(ms: number): Promise<void> {
  toneMic.talk(true);
  await new Promise((r) => setTimeout(r, ms)); // the speaker talks for a set time: this is the stimulus, not a wait for a condition
  toneMic.talk(false);
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

    await talk(3000);
    await call.call.setMicrophoneMuted(true);
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
    const { tone, loud, windows } = count(recording("door.raw"), 1000);
    reportFigure("talkback exec coverage", { toneWindows: tone, expected: 150, loudWindows: loud, seconds: windows.length / 50 });
    // 3 s of talk = 150 windows of 20 ms; the 2 s talked while muted must add none.
    expect(tone / 150, `tone windows ${tone}`).toBeGreaterThan(0.95);
    expect(tone, "nothing while muted").toBeLessThanOrEqual(155);
    expect(loud, "no sound but the tone").toBeLessThanOrEqual(tone + 4);
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
    await talk(2000);
    first.hangup();
    await first.ended();
    expect(childrenNamed(process.pid, "tee"), "still one command for the second call").toHaveLength(1);
    await talk(1000);
    second.hangup();
    await second.ended();
    await waitFor("the command to end with the last call", () => childrenNamed(process.pid, "tee").length === 0, { timeoutMs: 10_000 });

    const windows = toneWindows(recording("door.raw").subarray(before), RATE, [1000, 600]);
    const both = windows.filter(
      (w) => (w.amplitude[1000] ?? 0) > TONE_AMPLITUDE / 4 && (w.amplitude[600] ?? 0) > TONE_AMPLITUDE / 4,
    ).length;
    const bobOnly = windows.filter(
      (w) => (w.amplitude[1000] ?? 0) < TONE_AMPLITUDE / 10 && (w.amplitude[600] ?? 0) > TONE_AMPLITUDE / 4,
    ).length;
    reportFigure("talkback exec mix", { bothWindows: both, expectedBoth: 100, bobOnlyWindows: bobOnly, expectedBobOnly: 50 });
    expect(both / 100).toBeGreaterThan(0.95);
    expect(bobOnly / 50).toBeGreaterThan(0.9);
  });
});
