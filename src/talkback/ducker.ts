/**
 * Echo ducking. The callee's voice comes out of the door's speaker, the door's microphone picks it up, and the
 * camera's audio brings it back to the callee (and to a second callee) a few hundred ms late: an echo. Doorbells
 * have no echo canceller for an RTSP client, and WebRTC's canceller on the callee's device does not know this path.
 * What intercoms do, and what this does: while a callee is talking, the camera's audio toward the calls is turned
 * down by `duckDb`, and back up once they have been quiet for a moment.
 *
 * Pure: fed one 20 ms mix frame at a time (the talkback mixer's clock), it returns the gain the camera's audio
 * should have now. Attack is at once (the first frame of speech ducks); release waits `holdMs` (pauses between
 * words must not pump the door's sound up and down) and then ramps back over `releaseMs`, linear in dB.
 */
import { FRAME_MS } from "./mixer.ts";

export interface DuckerOptions {
  /** How far the camera's audio is turned down while someone talks (0: never). */
  duckDb: number;
  /** A frame louder than this (RMS, dB relative to full scale) is speech. */
  thresholdDbfs?: number;
  holdMs?: number;
  releaseMs?: number;
}

/**
 * -45 dBFS: a voice at a phone's normal level peaks around -20 to -10 dBFS after WebRTC's gain control; its noise
 * suppression leaves the background well under -55 dBFS, so a cough counts, the room does not.
 */
const DEFAULT_THRESHOLD_DBFS = -45;
const DEFAULT_HOLD_MS = 300;
const DEFAULT_RELEASE_MS = 300;

export function rmsDbfs(frame: Int16Array): number {
  if (frame.length === 0) return -Infinity;
  let sum = 0;
  for (const s of frame) sum += s * s;
  return 20 * Math.log10(Math.sqrt(sum / frame.length) / 32768);
}

export class Ducker {
  private readonly threshold: number;
  private readonly holdFrames: number;
  private readonly releaseFrames: number;
  /** Frames since the last speech frame (Infinity: none yet). */
  private quietFrames = Infinity;
  /** The attenuation now, in dB (0: none). */
  private db = 0;

  constructor(private readonly opts: DuckerOptions) {
    this.threshold = opts.thresholdDbfs ?? DEFAULT_THRESHOLD_DBFS;
    this.holdFrames = Math.round((opts.holdMs ?? DEFAULT_HOLD_MS) / FRAME_MS);
    this.releaseFrames = Math.max(1, Math.round((opts.releaseMs ?? DEFAULT_RELEASE_MS) / FRAME_MS));
  }

  /** The camera audio's gain (0..1] after this 20 ms frame of the callees' mix. */
  frame(mix: Int16Array): number {
    if (this.opts.duckDb <= 0) return 1;
    if (rmsDbfs(mix) > this.threshold) {
      this.quietFrames = 0;
      this.db = this.opts.duckDb;
    } else {
      this.quietFrames += 1;
      if (this.quietFrames > this.holdFrames) this.db = Math.max(0, this.db - this.opts.duckDb / this.releaseFrames);
    }
    return this.gain;
  }

  get gain(): number {
    return 10 ** (-this.db / 20);
  }

  get ducking(): boolean {
    return this.db > 0;
  }
}
