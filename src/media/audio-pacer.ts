import { StandingQueue } from "../util/standing-queue.ts";
import { AUDIO_CHUNK_BYTES } from "./ffmpeg-args.ts";

/** How many 10 ms chunks the pacer holds at least, and at most, before it plays camera audio. */
const MIN_TARGET = 3;
const MAX_TARGET = 30;
/** Bursts remembered to size the buffer (at 20–128 ms a burst, a few seconds of them). */
const BURST_WINDOW = 64;
/** The standing queue is judged over this many chunks sent (1 s). */
const STANDING_PERIOD = 100;
/** Chunks held at most whatever happens (2 s): a backstop, far above any standing queue. */
const HARD_LIMIT = 200;

/** What a pacer has sent: camera chunks played, silent chunks in gaps of camera audio (after it had started), chunks dropped (queue over). */
export interface AudioCounts {
  played: number;
  silent: number;
  dropped: number;
}

/**
 * A camera's sound at the wall clock's pace: 10 ms chunks go out one per 10 ms, taken from a small
 * queue, and silence whenever the queue has nothing (camera away, audio off, not started yet).
 *
 * Why: cameras send audio in packets of 20 to 128 ms, and ffmpeg writes each packet's PCM at once.
 * Pushed on as it came, a call's audio arrived in clumps; the receiver's audio jitter buffer grew to
 * hold a clump and lip sync then held the video back by as much (measured: +80 ms video latency with
 * 128 ms packets, growing over a call). Paced, audio arrives evenly and video is not held back.
 *
 * The queue is filled to `target` chunks before camera audio plays (the largest recent burst plus
 * two, so a burst is always there before the last one runs out), and after it ran dry. A camera whose
 * clock runs fast fills it up: what the queue held above the target all through a second is dropped (the
 * oldest chunks). Judged by the queue's minimum, not by the queue's size at a moment:
 * on a loaded machine the reads of ffmpeg's pipe and the pacer's ticks come late and in clumps, the queue peaked
 * past twice the target without any standing excess, and dropping it there lost 300 ms of sound at a time, which
 * then played as silence while the queue refilled (test/unit/audio-pacer.test.ts: 848 of 2000 chunks dropped from
 * packets read three at a time).
 */
export class AudioPacer {
  private readonly queue: Uint8Array[] = [];
  private readonly spare: Uint8Array[] = [];
  private readonly bursts: number[] = [];
  private target = MIN_TARGET;
  private filling = true;
  /** Camera audio has played since the last clear(): a silent chunk now is a gap. */
  private playing = false;
  private startedAt: number | undefined;
  private sent = 0;
  private readonly standing = new StandingQueue(STANDING_PERIOD);
  readonly counts: AudioCounts = { played: 0, silent: 0, dropped: 0 };

  /** @param out receives each chunk to send (the buffer is the pacer's and is reused) */
  constructor(private readonly out: (chunk: Uint8Array) => void) {}

  get queued(): number {
    return this.queue.length;
  }
  get targetChunks(): number {
    return this.target;
  }

  /** One write of PCM from ffmpeg, as received: its size tells how bursty the camera's audio is. */
  noteBurst(bytes: number): void {
    this.bursts.push(Math.ceil(bytes / AUDIO_CHUNK_BYTES));
    if (this.bursts.length > BURST_WINDOW) this.bursts.shift();
    this.target = Math.min(MAX_TARGET, Math.max(MIN_TARGET, Math.max(...this.bursts) + 2));
  }

  /** A 10 ms chunk of camera audio (copied). */
  add(chunk: Uint8Array): void {
    const copy = this.spare.pop() ?? new Uint8Array(AUDIO_CHUNK_BYTES);
    copy.set(chunk);
    this.queue.push(copy);
    if (this.queue.length > HARD_LIMIT) this.drop(this.queue.length - this.target);
  }

  private drop(n: number): void {
    const dropped = this.queue.splice(0, n);
    this.counts.dropped += dropped.length;
    this.spare.push(...dropped);
  }

  /** After each chunk sent: what the queue held above the target for a whole period (a standing excess) is dropped. */
  private watchStanding(): void {
    const least = this.standing.observe(this.queue.length)?.least;
    if (least !== undefined && least > this.target) this.drop(least - this.target);
  }

  /** No camera audio for now: what is queued is dropped, silence goes out until audio comes again. */
  clear(): void {
    this.spare.push(...this.queue.splice(0));
    this.bursts.length = 0;
    this.target = MIN_TARGET;
    this.filling = true;
    this.playing = false;
    this.standing.reset();
  }

  /** Sends the chunks due by `nowMs` (at most half a second's worth at once: timers are late, never early). */
  tick(nowMs: number): void {
    this.startedAt ??= nowMs;
    const due = Math.floor((nowMs - this.startedAt) / 10);
    for (let n = Math.min(due - this.sent, 50); n > 0; n--) {
      this.sendOne();
      this.watchStanding();
    }
    this.sent = due;
  }

  /** Starts counting time afresh (after a pause in ticking). */
  restart(): void {
    this.startedAt = undefined;
    this.sent = 0;
  }

  private readonly silence = new Uint8Array(AUDIO_CHUNK_BYTES);

  private sendOne(): void {
    if (this.filling && this.queue.length >= this.target) this.filling = false;
    const chunk = this.filling ? undefined : this.queue.shift();
    if (chunk === undefined) {
      if (!this.filling) {
        // Ran dry: fill up to the target again before playing on.
        this.filling = true;
      }
      if (this.playing) this.counts.silent++;
      this.out(this.silence);
      return;
    }
    this.counts.played++;
    this.playing = true;
    this.out(chunk);
    this.spare.push(chunk);
  }
}
