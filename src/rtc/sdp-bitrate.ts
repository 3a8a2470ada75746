/**
 * How much the bot's video encoder may send. libwebrtc caps a 720p VP8 stream at 2.5 Mbit/s by default and starts its
 * bandwidth estimate at 300 kbit/s; a camera picture with detail needs more at 25 fps, so the encoder's frame dropper
 * skipped frames and the stats said "limited by bandwidth" even on loopback (the issue: 23 of 25 fps on the bench
 * camera). Two wrtc peers, 1280×720 at 25 fps with texture, 15 s each, on the 2-core machine:
 *   default:                         17.2 fps sent at 2.47 Mbit/s, limited by bandwidth (twice)
 *   x-google-max-bitrate=6000:       24.8 fps at 5.36 Mbit/s
 *   + x-google-start-bitrate=1500:   24.9–25.0 fps at 5.4 Mbit/s, no limitation (twice)
 *   x-google-start-bitrate alone:    17.7 fps (the cap is what binds)
 * But a larger frame takes longer to pace out and to assemble at the receiver. `npm run bench -- --quick --only
 * latency,ttff` (one 720p25 call of the bench camera; glass-to-glass p50 with ffmpeg / GStreamer front end, encoder fps):
 *   libwebrtc's defaults:   127 / 87 ms, 23.6 / 24.4 fps, limited by bandwidth; answer → first frame 331 ms (warm)
 *   max 4000, start 1500:   148 / 106 ms, 25.0 / 25.1 fps, no limitation
 *   max 6000, start 1500:   153 / 120 ms, 25.1 / 25.0 fps; answer → first frame 81 ms (warm)
 * (runs vary by ±20 ms here). 4000 keeps the full frame rate of the camera the bench uses at about half the latency
 * cost of 6000; the start bitrate is what makes the first picture come at once (a 720p keyframe paced out at the
 * default 300 kbit/s start took a quarter of a second). The estimate still follows the network: a cap, not a target.
 *
 * The parameters go into the remote description's fmtp lines of the video codecs, which is where libwebrtc reads the
 * send limits from (the receiver's wishes); nothing is sent to the callee.
 */
import { mapMediaSections } from "./sdp-sections.ts";

export const MAX_VIDEO_KBPS = 4000;
export const START_VIDEO_KBPS = 1500;

/**
 * The sizes up to which a smaller picture gets a smaller cap: what the encode budget scales 720p and 1080p cameras to
 * (encode-budget.ts: half, then a quarter of the width and height) and the common substreams between them.
 */
const SMALLER_PICTURES: readonly (readonly [number, number])[] = [
  [320, 180],
  [640, 360],
  [640, 480],
  [960, 540],
];
/** A smaller picture's cap per pixel, against the 720p cap's: a little more, as a small picture needs more bits a pixel. */
const SMALLER_PICTURE_BITS = 1.2;

/**
 * The send caps of pictures smaller than 720p, as libwebrtc's VP8 encoder reads them (the field trial
 * `WebRTC-VP8-GetEncoderInfoOverride`: a frame gets the limits of the smallest listed size it fits, a larger one
 * none, so the SDP's MAX_VIDEO_KBPS; the intersection of both is applied at every change of the frame's size).
 * Why: x-google-max-bitrate is fixed when a call is negotiated and wrtc 0.10 cannot change it later
 * (`setParameters()` fails), so a call the encode budget scaled to 640×360 kept the 720p cap: bench `overload` of
 * 2026-12-04, 8 calls on one camera at 640×360 each sent 3.55 Mbit/s (QP 17, 20 KB a frame, as much as at 720p), and
 * the 17 packets a frame of 8 calls, all on the 2 cores, came with 630 NACKs, 519 ms of jitter buffer, 1.0 s behind.
 * Two wrtc peers in one process, a noisy 640×360 picture, 3 s after the start: 3516 kbit/s without, 1081 with the
 * 1200 cap (unit test smaller-picture-caps).
 */
export function smallerPictureCaps(maxKbps = MAX_VIDEO_KBPS): string {
  const pixels = SMALLER_PICTURES.map(([w, h]) => w * h);
  const perPixel = (maxKbps * 1000 * SMALLER_PICTURE_BITS) / (1280 * 720);
  const list = (values: number[]): string => values.join("|");
  return (
    "WebRTC-VP8-GetEncoderInfoOverride/" +
    `frame_size_pixels:${list(pixels)},` +
    `min_start_bitrate_bps:${list(pixels.map(() => 0))},` +
    // libwebrtc's own floor (kDefaultMinVideoBitrateBps); the limits apply only where min < max.
    `min_bitrate_bps:${list(pixels.map(() => 30_000))},` +
    `max_bitrate_bps:${list(pixels.map((px) => Math.round((px * perPixel) / 1000) * 1000))}/`
  );
}

const VIDEO_CODECS = new Set(["VP8", "VP9", "H264", "AV1"]);

/** The SDP with x-google-max-bitrate and x-google-start-bitrate on every video codec's fmtp (added or extended). */
export function withVideoBitrate(sdp: string, maxKbps = MAX_VIDEO_KBPS, startKbps = START_VIDEO_KBPS): string {
  const params = `x-google-max-bitrate=${maxKbps};x-google-start-bitrate=${Math.min(startKbps, maxKbps)}`;
  return mapMediaSections(sdp, (section) => (section[0]?.startsWith("m=video") === true ? videoSection(section, params) : section));
}

/** A video section with `params` on its video codecs' fmtp lines: appended to one there, an fmtp line added at its end. */
function videoSection(section: readonly string[], params: string): string[] {
  const codecs = new Set<string>();
  const withFmtp = new Set<string>();
  const out: string[] = [];
  for (const line of section) {
    const rtpmap = /^a=rtpmap:(\d+) ([A-Za-z0-9-]+)\//.exec(line);
    if (rtpmap?.[1] !== undefined && VIDEO_CODECS.has((rtpmap[2] ?? "").toUpperCase())) codecs.add(rtpmap[1]);
    const pt = /^a=fmtp:(\d+) (.*)$/.exec(line)?.[1];
    if (pt !== undefined && codecs.has(pt)) {
      withFmtp.add(pt);
      if (!line.includes("x-google-max-bitrate")) {
        out.push(`${line};${params}`);
        continue;
      }
    }
    out.push(line);
  }
  for (const pt of codecs) if (!withFmtp.has(pt)) out.push(`a=fmtp:${pt} ${params}`);
  return out;
}
