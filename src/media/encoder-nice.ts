/**
 * While the encode budget scales pictures down (more calls than the CPU encodes at full size: encode-budget.ts), the
 * calls' video encoders give way to the cameras' front ends: every libwebrtc encoder thread of this process
 * ("EncoderQueue", one per call's video sender, made when the call is negotiated) is set to nice 10
 * (media.encoderNice; the bot itself runs at 0, unless started under `nice`), every 2 s for new ones. A thread may
 * lower its own priority without any privilege, and not raise it again: a thread set stays so until its call ends.
 * Linux keeps a nice per thread (elsewhere /proc/self/task does not exist and nothing happens).
 *
 * Why: a camera's front end (a GStreamer or ffmpeg process) that falls behind delays every call of its camera, and
 * the delay only grows (frames wait in front of its decoder until LagWatch restarts it, seconds later); an encoder that
 * falls behind drops frames of its own call (libwebrtc keeps only the newest frame waiting) and its picture stays
 * live. At one priority Linux shares a saturated CPU by runnable thread, and eight encoders outweigh four decoders.
 * Measured in the bench's overload phase, 8 calls over four 720p25 cameras on the slow 2-core machine next to the
 * bench's receiver and camera rig: the pictures' delay behind the cameras (p50) 1.0–1.2 s at one priority; the
 * encoders set to 5, then 10, by hand once the window had begun (the delay already built up): 270 and 125 ms; the bot
 * setting 10 itself, two runs: 254 and 630 ms (docs/benchmark.md).
 *
 * Only under the budget's overload, where it was measured to help: an encoder at nice 10 gives way to every busy
 * thread at nice 0 on the machine, not only to the front ends; a single call (never scaled) keeps the bot's priority.
 */
import { readdir, readFile } from "node:fs/promises";
import { setPriority } from "node:os";
import type { Logger } from "../util/logger.ts";

export const ENCODER_THREAD = "EncoderQueue";
/** media.encoderNice's default. */
export const ENCODER_NICE = 10;
/** How soon a new call's encoder is found (its call is still being answered then, encoding nothing much). */
const SWEEP_MS = 2000;

/** The nice of the thread whose /proc stat line this is (field 19, after the parenthesised name). */
export function niceOf(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

/** Sets every thread of this process named `name` whose nice is below `nice` to `nice`; resolves with how many. */
export async function reniceThreads(name: string, nice: number, taskDir = "/proc/self/task"): Promise<number> {
  let tids: string[];
  try {
    tids = await readdir(taskDir);
  } catch {
    return 0;
  }
  let changed = 0;
  for (const tid of tids) {
    try {
      const comm = (await readFile(`${taskDir}/${tid}/comm`, "utf8")).trim();
      if (comm !== name || niceOf(await readFile(`${taskDir}/${tid}/stat`, "utf8")) >= nice) continue;
      setPriority(Number(tid), nice);
      changed++;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return changed;
}

/** Sweeps every SWEEP_MS while the camera hub's calls are over the encode budget (setOverloaded), so that each call's encoder is found. */
export class EncoderNice {
  private timer: NodeJS.Timeout | undefined;
  private logged = false;
  /** A sweep is running: the next tick skips (reading /proc is slow when the CPU is short, which is when it matters). */
  private sweeping = false;
  private stopped = false;

  /** `nice`: media.encoderNice; 0 leaves the encoders as they are. */
  constructor(
    private readonly log: Logger,
    private readonly nice = ENCODER_NICE,
  ) {}

  /** Whether the encode budget scales any camera's picture now. */
  setOverloaded(overloaded: boolean): void {
    if (overloaded && this.timer === undefined && this.nice > 0 && !this.stopped) {
      void this.sweep();
      this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
      this.timer.unref();
    } else if (!overloaded) this.pause();
  }

  /** No sweep any more, whatever setCalls says later (shutdown). */
  stop(): void {
    this.stopped = true;
    this.pause();
  }

  private pause(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async sweep(): Promise<number> {
    if (this.sweeping) return 0;
    this.sweeping = true;
    try {
      const changed = await reniceThreads(ENCODER_THREAD, this.nice);
      if (changed > 0 && !this.logged) {
        this.logged = true;
        this.log.info(
          { nice: this.nice },
          "over the encode budget: the calls' video encoders run below the cameras' front ends in priority",
        );
      }
      return changed;
    } finally {
      this.sweeping = false;
    }
  }
}
