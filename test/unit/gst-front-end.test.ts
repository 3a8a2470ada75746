/** The GStreamer front end's command line and the lines it reads back (gst-front-end.ts). */
import { describe, expect, it } from "vitest";
import { isProgressLine } from "../../src/media/ffmpeg-process.ts";
import {
  buildGstArgs,
  gstCanRead,
  gstCodecOf,
  gstFrameTimeMs,
  gstSizeFromLine,
  gstVideoEncoding,
  isGstUnsupported,
} from "../../src/media/gst-front-end.ts";
import { H265_MANAGER_PAD, H265_PAD, SINK_CAPS } from "./fixtures/gst-lines.ts";

describe("buildGstArgs", () => {
  const args = buildGstArgs({ url: "rtsp://u:p w@cam/s?x=1&y=2", maxWidth: 1281, maxHeight: 721, maxFps: 15, audio: true });

  it("keeps the URL one argv entry and reads it over TCP without a jitter buffer", () => {
    expect(args).toContain("location=rtsp://u:p w@cam/s?x=1&y=2");
    expect(args).toEqual(expect.arrayContaining(["-v", "protocols=tcp", "latency=0", "avdec_h264", "thread-type=slice"]));
  });

  it("fits the picture into even sizes up to the cap, drops frames above maxFps, writes video to fd 3 and audio to fd 4", () => {
    expect(args).toContain("video/x-raw,format=I420,width=(int)[2,1280,2],height=(int)[2,720,2],pixel-aspect-ratio=1/1");
    expect(args).toEqual(expect.arrayContaining(["drop-only=true", "max-rate=15", "name=vsink", "fd=3", "name=asink", "fd=4"]));
    expect(args).toContain("audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1");
  });

  it("without audio has no audio branch", () => {
    const video = buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false });
    expect(video).not.toContain("fd=4");
    expect(video.join(" ")).not.toContain("media=audio");
  });

  it("decodes H.264 by default and H.265 when asked", () => {
    expect(args.join(" ")).toContain("rtph264depay ! avdec_h264 thread-type=slice");
    const h265 = buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false, codec: "h265" });
    expect(h265.join(" ")).toContain("rtph265depay ! avdec_h265 thread-type=slice");
    expect([gstCodecOf("H264"), gstCodecOf("h265"), gstCodecOf("JPEG"), gstCodecOf("MP4V-ES")]).toEqual([
      "h264",
      "h265",
      undefined,
      undefined,
    ]);
  });

  it("is only for RTSP cameras", () => {
    expect([
      gstCanRead("rtsp://cam/s"),
      gstCanRead("RTSPS://cam/s"),
      gstCanRead("demo://"),
      gstCanRead("/tmp/clip.mkv"),
      gstCanRead("http://cam/mjpeg"),
    ]).toEqual([true, true, false, false, false]);
  });
});

describe("gst-launch lines", () => {
  it("the video sink's negotiated caps give the output size; other caps lines do not", () => {
    expect(gstSizeFromLine(SINK_CAPS)).toEqual({ width: 300, height: 224 });
    expect(gstSizeFromLine(SINK_CAPS.replace("vsink", "asink"))).toBeUndefined();
    expect(
      gstSizeFromLine(
        "/GstPipeline:pipeline0/GstVideoScale:videoscale0.GstPad:src: caps = video/x-raw, format=(string)I420, width=(int)300, height=(int)224",
      ),
    ).toBeUndefined();
  });

  it("rtspsrc's pads and those of its RTP manager name the video codec; audio pads and the decoding chain do not count", () => {
    expect(gstVideoEncoding(H265_PAD)).toBe("H265");
    expect(gstVideoEncoding(H265_PAD.replace("H265", "H264"))).toBe("H264");
    expect(gstVideoEncoding(H265_PAD.replace("_96: caps", "_96.GstProxyPad:proxypad8: caps"))).toBe("H265");
    expect(gstVideoEncoding(H265_MANAGER_PAD)).toBe("H265");
    expect(gstVideoEncoding(H265_PAD.replace("media=(string)video", "media=(string)audio"))).toBeUndefined();
    expect(
      gstVideoEncoding(
        "/GstPipeline:pipeline0/GstRtpH265Depay:rtph265depay0.GstPad:sink: caps = application/x-rtp, media=(string)video, encoding-name=(string)H265",
      ),
    ).toBeUndefined();
    expect(
      gstVideoEncoding("/GstPipeline:pipeline0/GstCapsFilter:capsfilter4: caps = application/x-rtp, media=(string)video"),
    ).toBeUndefined();
  });

  it("the lag probe's line for a written frame gives its timestamp; its other lines are probe lines without one", () => {
    const chain =
      "/GstPipeline:pipeline0/GstIdentity:lagprobe: last-message = chain   ******* (lagprobe:sink) (345600 bytes, dts: none, pts: 1:02:03.044387400, duration: 0:00:00.040000000, offset: -1, offset_end: -1, flags: 00000040 discont , meta: none) 0x7fa81c0126c0";
    const event =
      '/GstPipeline:pipeline0/GstIdentity:lagprobe: last-message = event   ******* (lagprobe:sink) E (type: segment (17934), GstEventSegment, segment=(GstSegment)"segment, base=(guint64)50086178";) 0x7fee84005960';
    const noPts = chain.replace("pts: 1:02:03.044387400", "pts: none");
    expect(gstFrameTimeMs(chain)).toBeCloseTo((3600 + 2 * 60 + 3.0443874) * 1000, 3);
    expect([gstFrameTimeMs(event), gstFrameTimeMs(noPts), gstFrameTimeMs(SINK_CAPS)]).toEqual([undefined, undefined, undefined]);
    expect([isProgressLine(chain), isProgressLine(event), isProgressLine(SINK_CAPS)]).toEqual([true, true, false]);
    expect(buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false }).join(" ")).toContain(
      "! identity name=lagprobe silent=false ! fdsink name=vsink",
    );
  });

  it("recognises gst-launch's errors for a pipeline that cannot work here", () => {
    expect(isGstUnsupported('WARNING: erroneous pipeline: no element "avdec_h264"')).toBe(true);
    expect(isGstUnsupported("streaming stopped, reason not-negotiated (-4)")).toBe(true);
    expect(
      isGstUnsupported(
        "ERROR: from element /GstPipeline:pipeline0/GstDecodeBin:decodebin0: Your GStreamer installation is missing a plug-in.",
      ),
    ).toBe(true);
    expect(isGstUnsupported("Progress: (connect) Connecting to rtsp://cam/s")).toBe(false);
    expect(isGstUnsupported("Could not open resource for reading and writing.")).toBe(false);
  });
});
