/**
 * The GStreamer front end (camera `frontEnd: gstreamer`) on real parts: the GStreamer RTSP test camera, real
 * gst-launch-1.0 and ffmpeg, the camera's wrtc sources read back through wrtc sinks. An H.264 camera streams
 * through GStreamer (picture scaled to fit, sound audible, credentials accepted); an H.265 camera through
 * GStreamer's H.265 chain once it has announced its codec; an MJPEG camera falls back to ffmpeg; neither counts a
 * restart; a stop leaves no child behind.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CameraPipeline } from "../../src/media/camera-pipeline.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";

import { createLogger } from "../../src/util/logger.ts";
import { gstreamerAvailable, startRtspCamera, type RtspCamera, type RtspCameraOptions } from "../harness/rtsp-camera.ts";
import { waitFor } from "../harness/wait.ts";
import { pipelineSinks } from "../harness/pipeline-sinks.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

const runCameraTests = (await gstreamerAvailable()) || ["true", "1"].includes(process.env["CI"] ?? "");
const log = createLogger({ level: "silent" });
const cameras: RtspCamera[] = [];
const pipelines: CameraPipeline[] = [];

async function pipelineFor(opts: RtspCameraOptions, size: { maxWidth: number; maxHeight: number }): Promise<CameraPipeline> {
  const cam = await startRtspCamera({ fps: 25, ...opts });
  cameras.push(cam);
  const camera = testCamera({ url: cam.url, ...size, maxFps: 25, audio: true, frontEnd: "gstreamer" });
  const pipeline = new CameraPipeline(camera, { full: ffmpegPath() }, log);
  pipelines.push(pipeline);
  return pipeline;
}

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((p) => p.stop()));
  await Promise.all(cameras.splice(0).map((c) => c.stop()));
  expect(liveFfmpegCount()).toBe(0);
});

describe.skipIf(!runCameraTests)("the GStreamer front end", () => {
  it("streams an H.264 camera with digest credentials: picture scaled to fit, the camera's sound audible", async () => {
    const pipeline = await pipelineFor(
      { codec: "h264", width: 640, height: 360, audio: "pcma", user: "viewer", password: "s3cret pass" },
      { maxWidth: 320, maxHeight: 240 },
    );
    const seen = pipelineSinks(pipeline);
    try {
      pipeline.start();
      await waitFor("25 frames and some audible sound", () => seen.frames() >= 25 && seen.audible() >= 10, { timeoutMs: 20_000 });
      expect(seen.size()).toBe("320x180");
      expect(pipeline.stats()).toMatchObject({
        state: "running",
        frontEnd: "gstreamer",
        width: 320,
        height: 180,
        restarts: 0,
        audio: true,
      });
    } finally {
      seen.stop();
    }
  });

  it("a camera without sound: video through GStreamer, silence on the audio track", async () => {
    const pipeline = await pipelineFor({ codec: "h264", width: 320, height: 240, audio: "none" }, { maxWidth: 1280, maxHeight: 720 });
    const seen = pipelineSinks(pipeline);
    try {
      pipeline.start();
      await waitFor("25 frames", () => seen.frames() >= 25, { timeoutMs: 20_000 });
      expect(pipeline.stats()).toMatchObject({ state: "running", frontEnd: "gstreamer", width: 320, height: 240, restarts: 0 });
      expect(seen.audible()).toBe(0);
    } finally {
      seen.stop();
    }
  });

  it.each([
    ["h265", "gstreamer"],
    ["mjpeg", "ffmpeg"],
  ] as const)("a %s camera streams through %s, without a restart counted", async (codec, frontEnd) => {
    const pipeline = await pipelineFor(
      { codec, width: 320, height: 240, audio: codec === "mjpeg" ? "pcma" : "none" },
      { maxWidth: 1280, maxHeight: 720 },
    );
    const seen = pipelineSinks(pipeline);
    try {
      pipeline.start();
      await waitFor("25 frames", () => seen.frames() >= 25, { timeoutMs: 30_000 });
      expect(pipeline.stats()).toMatchObject({ state: "running", frontEnd, width: 320, height: 240, restarts: 0 });
    } finally {
      seen.stop();
    }
  });
});
