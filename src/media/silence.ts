import { AUDIO_CHUNK_SAMPLES, AUDIO_SAMPLE_RATE } from "./ffmpeg-args.ts";

const TICK_MS = 20;

/**
 * Feeds 10 ms chunks of silence at real-time pace while a camera gives no sound (audio off, none in
 * the stream, or the camera away), so a call's audio track always carries audio like a real
 * microphone's. (One benchmark run saw a 720p call with a packet-less audio track at 10 fps and 1.5 s
 * behind; a 360p test did not reproduce it. Silence costs next to nothing and rules it out.)
 */
export class SilenceSource {
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private sent = 0;
  private readonly data = {
    samples: new Int16Array(AUDIO_CHUNK_SAMPLES),
    sampleRate: AUDIO_SAMPLE_RATE,
    bitsPerSample: 16,
    channelCount: 1,
    numberOfFrames: AUDIO_CHUNK_SAMPLES,
  };

  constructor(private readonly push: (data: SilenceSource["data"]) => void) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.startedAt = performance.now();
    this.sent = 0;
    this.timer = setInterval(() => {
      // As many chunks as real time asks for (timers are late, never early), at most half a second's worth.
      const due = Math.floor((performance.now() - this.startedAt) / 10);
      for (let n = Math.min(due - this.sent, 50); n > 0; n--) this.push(this.data);
      this.sent = due;
    }, TICK_MS);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
