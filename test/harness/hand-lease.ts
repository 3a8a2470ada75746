/**
 * A camera lease on real wrtc tracks, fed by hand: what CameraHub hands out, without ffmpeg. `frame()` gives the
 * video track's source and the lease's taps the same frame, as the camera's pipeline does (src/media/camera-media.ts).
 */
import type { CameraLease } from "../../src/media/camera-hub.ts";
import { MediaTaps, type I420Frame } from "../../src/media/camera-media.ts";
import { nonstandard } from "../../src/rtc/wrtc.ts";

export interface HandLease {
  lease: CameraLease;
  frame(frame: I420Frame): void;
  /** Stops the tracks (the hub's own are never stopped while it runs; a test's are, when it is done). */
  stop(): void;
}

export function handLease(camera: string, release: () => unknown = () => undefined): HandLease {
  const videoSource = new nonstandard.RTCVideoSource();
  const video = videoSource.createTrack();
  const audio = new nonstandard.RTCAudioSource().createTrack();
  const taps = new MediaTaps();
  return {
    lease: {
      camera,
      video,
      audio,
      tap: (handlers) => taps.add(handlers),
      release: () => {
        release();
      },
    },
    frame: (frame) => {
      videoSource.onFrame(frame);
      taps.video(frame);
    },
    stop: () => {
      video.stop();
      audio.stop();
    },
  };
}
