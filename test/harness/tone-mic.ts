/**
 * A callee's microphone that says something known: a sine tone from wrtc's nonstandard RTCAudioSource, fed 10 ms
 * at a time on the wall clock. getUserMedia (webrtc-env.ts) gives it for the audio device `toneDeviceId(hz)`
 * (set with `client.getMediaHandler().restoreMediaSettings(toneDeviceId(1000), …)` before answering).
 * All tone microphones of the process talk at once, switched by `toneMic.talk(true/false)`; each talk start is
 * recorded (Date.now()) for latency measurements.
 */
import { createRequire } from "node:module";

interface AudioTrack {
  readonly readyState: string;
  stop(): void;
}
interface AudioSource {
  createTrack(): AudioTrack;
  onData(data: { samples: Int16Array; sampleRate: number; bitsPerSample: number; channelCount: number; numberOfFrames: number }): void;
}

const require = createRequire(import.meta.url);
const wrtc = require("@roamhq/wrtc") as { nonstandard: { RTCAudioSource: new () => AudioSource } };

const PREFIX = "mcc-tone-microphone:";
const RATE = 48_000;
const CHUNK = 480;
export const TONE_AMPLITUDE = 8000;

export function toneDeviceId(hz: number): string {
  return `${PREFIX}${hz}`;
}

/** The tone frequency an audio constraint asks for (deviceId, ideal or exact), if it names a tone microphone. */
export function toneOf(audio: unknown): number | undefined {
  if (typeof audio !== "object" || audio === null) return undefined;
  let id: unknown = (audio as { deviceId?: unknown }).deviceId;
  if (typeof id === "object" && id !== null) id = (id as { ideal?: unknown; exact?: unknown }).ideal ?? (id as { exact?: unknown }).exact;
  if (typeof id !== "string" || !id.startsWith(PREFIX)) return undefined;
  const hz = Number(id.slice(PREFIX.length));
  return Number.isFinite(hz) && hz > 0 ? hz : undefined;
}

export const toneMic = {
  talking: false,
  /** Date.now() of every switch to talking. */
  onsets: [] as number[],
  /** 10 ms chunks each microphone (by tone Hz) has sent carrying its tone: what was said, as opposed to how long. */
  toneChunks: new Map<number, number>(),
  talk(on: boolean): void {
    if (on && !this.talking) this.onsets.push(Date.now());
    this.talking = on;
  },
};

const pumps = new Set<NodeJS.Timeout>();

/** A live audio track saying `hz` while toneMic.talking, silence otherwise. */
export function toneTrack(hz: number): AudioTrack {
  const source = new wrtc.nonstandard.RTCAudioSource();
  const track = source.createTrack();
  // matrix-js-sdk's MediaHandler remembers the device of the track it got (getSettings().deviceId) and asks for
  // that one next time: without it, the next call of this user would get wrtc's silent fake microphone.
  Object.defineProperty(track, "getSettings", { value: () => ({ deviceId: toneDeviceId(hz), kind: "audio" }), configurable: true });
  const started = performance.now();
  let sent = 0;
  let phase = 0;
  const step = (2 * Math.PI * hz) / RATE;
  const timer = setInterval(() => {
    if (track.readyState === "ended") {
      clearInterval(timer);
      pumps.delete(timer);
      return;
    }
    const due = Math.min(5, Math.floor((performance.now() - started) / 10) - sent);
    for (let c = 0; c < due; c++) {
      const samples = new Int16Array(CHUNK);
      for (let i = 0; i < CHUNK; i++) {
        samples[i] = toneMic.talking ? Math.round(TONE_AMPLITUDE * Math.sin(phase)) : 0;
        phase = (phase + step) % (2 * Math.PI);
      }
      if (toneMic.talking) toneMic.toneChunks.set(hz, (toneMic.toneChunks.get(hz) ?? 0) + 1);
      source.onData({ samples, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: CHUNK });
    }
    sent += Math.max(0, Math.floor((performance.now() - started) / 10) - sent);
  }, 5);
  timer.unref();
  pumps.add(timer);
  return track;
}

export function stopToneMics(): void {
  for (const t of pumps) clearInterval(t);
  pumps.clear();
}
