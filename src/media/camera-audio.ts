import type { RTCAudioSource } from "../rtc/wrtc.ts";
import { AudioPacer, type AudioCounts } from "./audio-pacer.ts";
import type { PcmChunk } from "./camera-media.ts";
import { AUDIO_CHUNK_BYTES, AUDIO_CHUNK_SAMPLES, AUDIO_SAMPLE_RATE } from "./ffmpeg-args.ts";
import { FrameSplitter } from "./frame-splitter.ts";

/** How often the pacer wakes up; each wake-up sends the 10 ms chunks due by then. */
const TICK_MS = 10;

/**
 * A camera's sound into its RTCAudioSource: ffmpeg's s16le PCM cut into 10 ms chunks and sent at the
 * wall clock's pace (AudioPacer), or silence whenever the camera gives none (audio off, none in the
 * stream, the camera away), so calls' audio tracks always carry audio like a microphone's.
 */
export class CameraAudio {
  private readonly pcm = new Int16Array(AUDIO_CHUNK_SAMPLES);
  private readonly pcmBytes = new Uint8Array(this.pcm.buffer);
  private readonly data = {
    samples: this.pcm,
    sampleRate: AUDIO_SAMPLE_RATE,
    bitsPerSample: 16,
    channelCount: 1,
    numberOfFrames: AUDIO_CHUNK_SAMPLES,
  };
  /** The chunk as the source was given it, for `onChunk`. */
  private readonly chunk: PcmChunk = { samples: this.pcm, sampleRate: AUDIO_SAMPLE_RATE, channelCount: 1, frames: AUDIO_CHUNK_SAMPLES };
  private readonly pacer: AudioPacer;
  private readonly splitter: FrameSplitter;
  private timer: NodeJS.Timeout | undefined;
  /** The gain of the last chunk sent, and the one asked for (talkback's ducking); a change ramps over one chunk. */
  private gainNow = 1;
  private gainWanted = 1;

  /** `onChunk`: each chunk as the source got it (camera-media.ts's taps). */
  constructor(source: Pick<RTCAudioSource, "onData">, onChunk?: (chunk: PcmChunk) => void) {
    this.pacer = new AudioPacer((chunk) => {
      this.pcmBytes.set(chunk);
      this.applyGain();
      source.onData(this.data);
      onChunk?.(this.chunk);
    });
    this.splitter = new FrameSplitter(
      AUDIO_CHUNK_BYTES,
      (chunk) => {
        this.pacer.add(chunk);
      },
      false,
    );
  }

  /** 10 ms chunks of the camera's sound sent, silent chunks in its gaps, chunks dropped (the pacer's counts). */
  get counts(): Readonly<AudioCounts> {
    return this.pacer.counts;
  }

  /** PCM from ffmpeg, as it was read. */
  push(chunk: Buffer): void {
    this.run();
    this.pacer.noteBurst(chunk.length);
    this.splitter.push(chunk);
  }

  /**
   * Turns the camera's sound down (talkback ducks it while the callee speaks, against the door's echo) or back up.
   * The step is spread over the next 10 ms chunk: a jump in level clicks.
   */
  setGain(gain: number): void {
    this.gainWanted = Math.min(1, Math.max(0, gain));
  }

  private applyGain(): void {
    const from = this.gainNow;
    const to = this.gainWanted;
    if (from === 1 && to === 1) return;
    const n = this.pcm.length;
    for (let i = 0; i < n; i++) this.pcm[i] = Math.round((this.pcm[i] ?? 0) * (from + ((to - from) * (i + 1)) / n));
    this.gainNow = to;
  }

  /** No sound from the camera for now: silence until it sends some again. */
  silent(): void {
    this.run();
    this.splitter.reset();
    this.pacer.clear();
  }

  /** ffmpeg ended: a partial chunk from it is dropped (what is queued still plays). */
  reset(): void {
    this.splitter.reset();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.splitter.reset();
    this.pacer.clear();
  }

  private run(): void {
    if (this.timer !== undefined) return;
    this.pacer.restart();
    this.pacer.tick(performance.now());
    this.timer = setInterval(() => {
      this.pacer.tick(performance.now());
    }, TICK_MS);
  }
}
