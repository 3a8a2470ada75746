/**
 * The camera's sound into a LiveKit call: rtc-node's AudioSource (48 kHz mono, what the camera pipeline gives) fed chunk by
 * chunk. captureFrame applies back-pressure (it resolves once rtc-node has room), so at most MAX_PENDING chunks are
 * in flight and the rest are dropped and counted: a publisher that falls behind loses sound, it never piles it up.
 */
import type { PcmChunk } from "../media/camera-media.ts";
import type { PublisherStats } from "./livekit-types.ts";
import type { RtcNode } from "./rtc-node.ts";

type AudioSource = InstanceType<RtcNode["AudioSource"]>;

/** rtc-node queues this much audio before captureFrame waits. */
const AUDIO_QUEUE_MS = 200;
const MAX_PENDING = 5;

export class LiveKitAudio {
  readonly source: AudioSource;
  private pending = 0;

  constructor(
    private readonly rtc: RtcNode,
    private readonly counters: Pick<PublisherStats, "audioChunksSent" | "audioChunksDropped">,
  ) {
    this.source = new rtc.AudioSource(48_000, 1, AUDIO_QUEUE_MS);
  }

  push(chunk: PcmChunk): void {
    if (this.pending >= MAX_PENDING) {
      this.counters.audioChunksDropped++;
      return;
    }
    this.pending++;
    // wrtc reuses its sample buffer after ondata returns: copy before the asynchronous capture.
    const frame = new this.rtc.AudioFrame(chunk.samples.slice(), chunk.sampleRate, chunk.channelCount, chunk.frames);
    this.source
      .captureFrame(frame)
      .then(
        () => {
          this.counters.audioChunksSent++;
        },
        () => {
          this.counters.audioChunksDropped++;
        },
      )
      .finally(() => {
        this.pending--;
      });
  }

  close(): Promise<void> {
    return this.source.close();
  }
}
