import type { RTCAudioSource } from "../rtc/wrtc.ts";
import { AUDIO_CHUNK_BYTES, AUDIO_CHUNK_SAMPLES, AUDIO_SAMPLE_RATE } from "./ffmpeg-args.ts";
import { FrameSplitter } from "./frame-splitter.ts";
import { SilenceSource } from "./silence.ts";

/**
 * A camera's sound into its RTCAudioSource: ffmpeg's s16le PCM cut into 10 ms chunks, or silence
 * whenever the camera gives none (audio off, none in the stream, the camera away), so calls' audio
 * tracks always carry audio.
 */
export class CameraAudio {
  private readonly pcm = new Int16Array(AUDIO_CHUNK_SAMPLES);
  private readonly pcmBytes = Buffer.from(this.pcm.buffer);
  private readonly data = { samples: this.pcm, sampleRate: AUDIO_SAMPLE_RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: AUDIO_CHUNK_SAMPLES };
  private readonly silence: SilenceSource;
  private readonly splitter: FrameSplitter;

  constructor(source: RTCAudioSource) {
    this.silence = new SilenceSource((data) => {
      source.onData(data);
    });
    this.splitter = new FrameSplitter(
      AUDIO_CHUNK_BYTES,
      (chunk) => {
        this.pcmBytes.set(chunk);
        source.onData(this.data);
      },
      false,
    );
  }

  /** PCM from ffmpeg: the camera's own sound takes over from the silence. */
  push(chunk: Buffer): void {
    if (this.silence.running) this.silence.stop();
    this.splitter.push(chunk);
  }

  /** No sound from the camera for now (a partial chunk from the last ffmpeg is dropped). */
  silent(): void {
    this.splitter.reset();
    this.silence.start();
  }

  /** ffmpeg ended: a partial chunk from it is dropped. */
  reset(): void {
    this.splitter.reset();
  }

  stop(): void {
    this.silence.stop();
    this.splitter.reset();
  }
}
