/** doctor's GStreamer check: which cameras it concerns, and the element names it reads from gst-inspect-1.0. */
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/load.ts";
import { checkGstreamer, gstElementsOf } from "../../src/doctor/gstreamer.ts";

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

  it("says nothing when no camera would use GStreamer", async () => {
    const camera = (url: string, frontEnd: "ffmpeg" | undefined, hwaccel: "none" | "vaapi"): Config["cameras"][number] =>
      ({ name: "c", url, frontEnd, hwaccel }) as Config["cameras"][number];
    const config = {
      cameras: [camera("rtsp://cam/a", "ffmpeg", "none"), camera("demo://", undefined, "none"), camera("rtsp://cam/b", undefined, "vaapi")],
    } as Config;
    expect(await checkGstreamer(config)).toBeUndefined();
  });
});
