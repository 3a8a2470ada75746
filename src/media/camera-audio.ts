import type { RTCAudioSource } from "../rtc/wrtc.ts";
import { AudioPacer } from "./audio-pacer.ts";
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
  private readonly data = { samples: this.pcm, sampleRate: AUDIO_SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: AUDIO_CHUNK_SAMPLES };
  private readonly pacer: AudioPacer;
  private readonly splitter: FrameSplitter;
  private timer: NodeJS.Timeout | undefined;

  constructor(source: RTCAudioSource) {
    this.pacer = new AudioPacer((chunk) => {
      this.pcmBytes.set(chunk);
      source.onData(this.data);
    });
    this.splitter = new FrameSplitter(
      AUDIO_CHUNK_BYTES,
      (chunk) => {
        this.pacer.add(chunk);
      },
      false,
    );
  }

  /** PCM from ffmpeg, as it was read. */
  push(chunk: Buffer): void {
    this.run();
    this.pacer.noteBurst(chunk.length);
    this.splitter.push(chunk);
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
