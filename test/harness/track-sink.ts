/**
 * A camera lease's shared tracks as a wrtc peer connection's encoder reads them: wrtc sinks on the tracks. Tests use
 * it to see what the tracks carry (the scaled picture, the frames a hand-fed source sends), where the bot's own
 * publishers take the pipeline's taps instead (src/media/camera-media.ts). The tracks belong to the hub: stop() ends
 * the sinks, never them.
 */
import type { CameraLease } from "../../src/media/camera-hub.ts";
import type { CameraMediaHandlers, I420Frame } from "../../src/media/camera-media.ts";
import { wrtc } from "../../src/rtc/wrtc.ts";

/** wrtc's sinks as they behave (its typings leave the handlers' arguments untyped). */
interface VideoSink {
  onframe: ((event: { frame: I420Frame }) => void) | null;
  stop(): void;
}
interface AudioSink {
  ondata: ((data: { samples: Int16Array; sampleRate: number; channelCount?: number; numberOfFrames?: number }) => void) | null;
  stop(): void;
}
const sinks = wrtc.nonstandard as unknown as {
  RTCVideoSink: new (track: MediaStreamTrack) => VideoSink;
  RTCAudioSink: new (track: MediaStreamTrack) => AudioSink;
};

export class TrackSink {
  private readonly videoSink: VideoSink;
  private readonly audioSink: AudioSink;
  private stopped = false;

  constructor(lease: Pick<CameraLease, "video" | "audio">, handlers: CameraMediaHandlers) {
    this.videoSink = new sinks.RTCVideoSink(lease.video);
    this.videoSink.onframe = ({ frame }) => {
      if (!this.stopped) handlers.video(frame);
    };
    this.audioSink = new sinks.RTCAudioSink(lease.audio);
    this.audioSink.ondata = (data) => {
      if (this.stopped) return;
      handlers.audio({
        samples: data.samples,
        sampleRate: data.sampleRate,
        channelCount: data.channelCount ?? 1,
        frames: data.numberOfFrames ?? data.samples.length,
      });
    };
  }

  /** Ends both sinks (the hub's tracks keep running for other calls). Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.videoSink.onframe = null;
    this.audioSink.ondata = null;
    this.videoSink.stop();
    this.audioSink.stop();
  }
}
