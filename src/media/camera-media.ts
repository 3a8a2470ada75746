/**
 * A camera's decoded media for whoever is not a wrtc peer connection (a MatrixRTC call's LiveKit process): the same
 * I420 frames (scaled, or the offline picture, as the case may be) and 10 ms 48 kHz PCM chunks the pipeline hands its
 * tracks' sources, handed on where it hands them.
 *
 * Not wrtc sinks on the tracks, as before: a sink gives JavaScript every 1.4 MB frame in a new ArrayBuffer, and the
 * collection of 35 MB/s of them cost the bot for one 720p25 MatrixRTC call 13.7 % of a core in V8's GC threads and
 * 13.0 % in its main thread, against 0.3 % and 4.9 % for a legacy call (bench `--only matrixrtc`, the bot process's
 * CPU by thread from /proc, 2026-12-04).
 */

export interface I420Frame {
  width: number;
  height: number;
  /** Y, then U, then V planes, tightly packed (what rtc-node's I420 VideoFrame takes). */
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

/**
 * What a tap is given. Both are called synchronously as the pipeline feeds its sources, and their buffers are reused
 * for the next frame or chunk: a handler copies what it keeps (the media pipe and rtc-node's captureFrame do).
 */
export interface CameraMediaHandlers {
  video(frame: I420Frame): void;
  audio(chunk: PcmChunk): void;
}

/** The taps on one camera's media. */
export class MediaTaps {
  private readonly taps = new Set<CameraMediaHandlers>();

  /** Hands the media to `handlers` until stop() (idempotent; each add is its own tap, even of the same handlers). */
  add(handlers: CameraMediaHandlers): { stop(): void } {
    const tap: CameraMediaHandlers = {
      video: (frame) => {
        handlers.video(frame);
      },
      audio: (chunk) => {
        handlers.audio(chunk);
      },
    };
    this.taps.add(tap);
    return {
      stop: () => {
        this.taps.delete(tap);
      },
    };
  }

  video(frame: I420Frame): void {
    for (const tap of this.taps) tap.video(frame);
  }

  audio(chunk: PcmChunk): void {
    for (const tap of this.taps) tap.audio(chunk);
  }
}
