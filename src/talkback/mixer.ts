import { StandingQueue } from "../util/standing-queue.ts";

/** 48 kHz mono, as WebRTC's audio sink delivers it (10 ms chunks of 480 samples). */
export const MIX_RATE = 48_000;
/** The mixer's frame: 20 ms, one RTP packet of G.711. */
export const FRAME_SAMPLES = 960;
export const FRAME_MS = 20;
/** An input plays once it holds this much (two sink chunks): the sink's 10 ms callbacks jitter against our 20 ms clock. */
const PRIME_SAMPLES = 1440;
/** At most this much is held per input (200 ms); beyond it the oldest is dropped, so latency cannot grow. */
const MAX_SAMPLES = 9600;
/**
 * A standing queue: if the least an input held after each frame over one second (50 frames) was more than 50 ms, that
 * much latency would stay for the rest of the call (a talking or silent callee never lets the queue run dry), so the
 * oldest audio is dropped down to the priming level, at most once a second. It builds up when audio arrives in a
 * clump after the clock has already played silence for its time (an event-loop stall, a sink burst): the bench
 * measured mouth → door rising from 236 to 476 ms (p50 368) over one exec call on a loaded machine. Judging by the
 * minimum (as CoDel does) leaves a passing burst alone: trimming whenever more than 50 ms was left lost tone in 6 of
 * 100 windows of the two-callee e2e mix. Not lowered after issue 12's drift step: the bench's per-slice levels showed
 * this queue at 20–37 ms mean while mouth → door rose with the bot's NetEq delay one for one (docs/talkback.md).
 */
const STANDING_SAMPLES = 2400;
const STANDING_PERIOD_FRAMES = 50;
const SAMPLES_PER_MS = MIX_RATE / 1000;

/**
 * How much of the mouth → door latency an input holds (the bench prints it per minute next to the burst latency and
 * the bot's jitter buffer, to tell which part holds a rise): over the last complete period of 50 frames (1 s), the
 * least and the mean queue left after each frame, in ms; and in all, the audio trimmed as standing queue and
 * dropped as overflow, and received, in ms. Undefined levels before the first complete period (or while the input is priming).
 */
export interface MixerInputReport {
  leastHeldMs: number | undefined;
  meanHeldMs: number | undefined;
  trimmedMs: number;
  droppedMs: number;
  /** All audio pushed in (the sink's 10 ms callbacks), ms: against the wall clock it shows whether the sink keeps time. */
  receivedMs: number;
}

/** One callee's audio into the mix: a bounded queue of 48 kHz mono samples. */
export class MixerInput {
  private buf = new Int16Array(MAX_SAMPLES);
  private length = 0;
  private primed = false;
  /** Samples dropped because the queue was full (the sink ran ahead of the clock). */
  dropped = 0;
  /** Samples dropped to end a standing queue (latency that would otherwise stay). */
  trimmed = 0;
  private received = 0;
  private readonly standing = new StandingQueue(STANDING_PERIOD_FRAMES);
  private lastLeast: number | undefined;
  private lastMean: number | undefined;

  /** Interleaved 16-bit samples at 48 kHz, `channels` of them per frame (downmixed to mono). */
  push(samples: Int16Array, channels: number): void {
    const frames = Math.floor(samples.length / channels);
    this.received += frames;
    if (frames > MAX_SAMPLES) return;
    if (this.length + frames > MAX_SAMPLES) {
      const drop = this.length + frames - MAX_SAMPLES;
      this.buf.copyWithin(0, drop, this.length);
      this.length -= drop;
      this.dropped += drop;
    }
    for (let i = 0; i < frames; i++) {
      let sum = 0;
      for (let c = 0; c < channels; c++) sum += samples[i * channels + c] ?? 0;
      this.buf[this.length + i] = Math.round(sum / channels);
    }
    this.length += frames;
    if (this.length >= PRIME_SAMPLES) this.primed = true;
  }

  /** Adds up to one frame of this input into `acc` (nothing while priming). */
  takeInto(acc: Int32Array): void {
    if (!this.primed) return;
    const n = Math.min(acc.length, this.length);
    for (let i = 0; i < n; i++) acc[i] = (acc[i] ?? 0) + (this.buf[i] ?? 0);
    this.buf.copyWithin(0, n, this.length);
    this.length -= n;
    const period = this.standing.observe(this.length);
    if (period !== undefined) {
      this.lastLeast = period.least;
      this.lastMean = period.mean;
      if (period.least > STANDING_SAMPLES) {
        const drop = Math.min(this.length, period.least - PRIME_SAMPLES);
        this.buf.copyWithin(0, drop, this.length);
        this.length -= drop;
        this.trimmed += drop;
      }
    }
    // Ran dry: wait for a little again before playing, rather than stutter chunk by chunk.
    if (this.length === 0 && n < acc.length) this.primed = false;
  }

  report(): MixerInputReport {
    const ms = (samples: number | undefined): number | undefined => (samples === undefined ? undefined : samples / SAMPLES_PER_MS);
    return {
      leastHeldMs: ms(this.lastLeast),
      meanHeldMs: ms(this.lastMean),
      trimmedMs: this.trimmed / SAMPLES_PER_MS,
      droppedMs: this.dropped / SAMPLES_PER_MS,
      receivedMs: this.received / SAMPLES_PER_MS,
    };
  }
}

/**
 * Mixes the inputs of one camera into 20 ms frames on the wall clock: two callees on one doorbell are heard
 * together (summed, clipped). The clock is the mixer's, not a sink's, so one input stalling does not stall the other.
 * A frame is produced for every 20 ms that passed, silent when nobody is talking, so the output is a steady stream.
 */
export class Mixer {
  private readonly inputs = new Set<MixerInput>();
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private frames = 0;
  private readonly acc = new Int32Array(FRAME_SAMPLES);

  constructor(private readonly out: (frame: Int16Array) => void) {}

  add(): MixerInput {
    const input = new MixerInput();
    this.inputs.add(input);
    return input;
  }

  remove(input: MixerInput): void {
    this.inputs.delete(input);
  }

  get size(): number {
    return this.inputs.size;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.startedAt = performance.now();
    this.frames = 0;
    // 10 ms ticks for a 20 ms frame: a tick late by up to 10 ms still finds its frame due in time.
    this.timer = setInterval(() => {
      this.tick();
    }, FRAME_MS / 2);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Produces every frame that is due; after a stall of more than 200 ms the clock restarts instead of bursting. */
  tick(now = performance.now()): void {
    let due = Math.floor((now - this.startedAt) / FRAME_MS) - this.frames;
    if (due > 10) {
      this.startedAt = now - FRAME_MS;
      this.frames = 0;
      due = 1;
    }
    for (; due > 0; due--) {
      this.frames++;
      this.acc.fill(0);
      for (const input of this.inputs) input.takeInto(this.acc);
      const frame = new Int16Array(FRAME_SAMPLES);
      for (let i = 0; i < FRAME_SAMPLES; i++) frame[i] = Math.max(-32768, Math.min(32767, this.acc[i] ?? 0));
      this.out(frame);
    }
  }
}
