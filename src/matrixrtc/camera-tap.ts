/**
 * The camera hub's decoded media, for a publisher that is not a wrtc peer connection: wrtc sinks on a lease's
 * shared tracks. The hub's one ffmpeg per camera keeps feeding every legacy call; this is one more sink of the same
 * tracks (the same I420 frames, the offline picture while the camera is away, the same 10 ms 48 kHz PCM chunks),
 * so no second ffmpeg and no change to the hub. The tracks belong to the hub: stop() ends the sinks, never them.
 */
import type { CameraLease } from "../media/camera-hub.ts";
import { wrtc } from "../rtc/wrtc.ts";

export interface I420Frame {
  width: number;
  height: number;
  /** Y, then U, then V planes, tightly packed (what wrtc's sink gives and rtc-node's I420 VideoFrame takes). */
  data: Uint8Array;
}

export interface PcmChunk {
  /** Signed 16-bit samples, interleaved when channelCount > 1. */
  samples: Int16Array;
  sampleRate: number;
  channelCount: number;
  /** Samples per channel. */
  frames: number;
}

export interface CameraTapHandlers {
  video(frame: I420Frame): void;
  audio(chunk: PcmChunk): void;
}

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

export class CameraTap {
  private readonly videoSink: VideoSink;
  private readonly audioSink: AudioSink;
  private stopped = false;

  constructor(lease: CameraLease, handlers: CameraTapHandlers) {
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
