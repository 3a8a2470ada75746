/** A camera pipeline's video frames and audible sound, counted as a call's tracks would carry them (wrtc sinks). */
import type { CameraPipeline } from "../../src/media/camera-pipeline.ts";
import { wrtc } from "../../src/rtc/wrtc.ts";
import type { I420Frame, WrtcAudioData } from "./webrtc-env.ts";

export interface PipelineSinks {
  frames: () => number;
  /** The last frame's size, "WxH". */
  size: () => string;
  /** Audio chunks with the test camera's tone in them. */
  audible: () => number;
  stop: () => void;
}

export function pipelineSinks(pipeline: CameraPipeline): PipelineSinks {
  const video = pipeline.video.createTrack();
  const audio = pipeline.audio.createTrack();
  const vsink = new wrtc.nonstandard.RTCVideoSink(video);
  const asink = new wrtc.nonstandard.RTCAudioSink(audio);
  let frames = 0;
  let size = "";
  let audible = 0;
  vsink.onframe = ({ frame }: { frame: I420Frame }) => {
    frames++;
    size = `${String(frame.width)}x${String(frame.height)}`;
  };
  asink.ondata = (data: WrtcAudioData) => {
    let peak = 0;
    for (const v of data.samples) peak = Math.max(peak, Math.abs(v));
    // The test camera sends a steady tone (amplitude ~6500); silence is next to nothing.
    if (peak > 1000) audible++;
  };
  return {
    frames: () => frames,
    size: () => size,
    audible: () => audible,
    stop: () => {
      vsink.stop();
      asink.stop();
      video.stop();
      audio.stop();
    },
  };
}
