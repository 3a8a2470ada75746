/** doctor's GStreamer check: which cameras it concerns, and the element names it reads from gst-inspect-1.0. */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/load.ts";
import { checkGstreamer, elementsOf, gstElementsOf } from "../../src/doctor/gstreamer.ts";
import { buildGstArgs } from "../../src/media/gst-front-end.ts";

const LISTING = [
  "rtsp:  rtspsrc: RTSP packet receiver",
  "libav:  avdec_h264: libav H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 decoder",
  "coreelements:  identity: Identity",
  "typefindfunctions: video/x-h264: h264, x264, 264",
  "",
  "Total count: 3 plugins, 4 features",
].join("\n");

describe("doctor's GStreamer check", () => {
  it("reads element names from gst-inspect-1.0's listing, not its type finders or totals", () => {
    expect([...gstElementsOf(LISTING)]).toEqual(["rtspsrc", "avdec_h264", "identity"]);
  });

  it("reads the element names of the front end's command line, not its properties, caps or pad references", () => {
    const args = buildGstArgs({ url: "rtsp://cam/s", maxWidth: 640, maxHeight: 480, maxFps: 25, audio: false, codec: "h265" });
    expect(elementsOf(args)).toEqual([
      "rtspsrc",
      "rtph265depay",
      "avdec_h265",
      "videoconvert",
      "videoscale",
      "videorate",
      "identity",
      "fdsink",
    ]);
  });

  it("says nothing when no camera would use GStreamer", async () => {
    const camera = (url: string, frontEnd: "ffmpeg" | undefined, hwaccel: "none" | "vaapi"): Config["cameras"][number] =>
      ({ name: "c", url, frontEnd, hwaccel }) as Config["cameras"][number];
    const config = {
      cameras: [camera("rtsp://cam/a", "ffmpeg", "none"), camera("demo://", undefined, "none"), camera("rtsp://cam/b", undefined, "vaapi")],
    } as Config;
    expect(await checkGstreamer(config)).toBeUndefined();
  });
});
