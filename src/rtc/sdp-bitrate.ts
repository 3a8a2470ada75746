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
export const MAX_VIDEO_KBPS = 4000;
export const START_VIDEO_KBPS = 1500;

const VIDEO_CODECS = new Set(["VP8", "VP9", "H264", "AV1"]);

/** The SDP with x-google-max-bitrate and x-google-start-bitrate on every video codec's fmtp (added or extended). */
export function withVideoBitrate(sdp: string, maxKbps = MAX_VIDEO_KBPS, startKbps = START_VIDEO_KBPS): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(eol);
  const params = `x-google-max-bitrate=${maxKbps};x-google-start-bitrate=${Math.min(startKbps, maxKbps)}`;
  const out: string[] = [];
  let video = false;
  const codecs = new Set<string>();
  const withFmtp = new Set<string>();
  // Payload types are per m-section: collect a section's codecs, then patch its fmtp lines or add them at its end.
  let section: string[] = [];
  const flush = (): void => {
    if (video) {
      for (const pt of codecs) if (!withFmtp.has(pt)) section.push(`a=fmtp:${pt} ${params}`);
    }
    out.push(...section);
    section = [];
    codecs.clear();
    withFmtp.clear();
  };
  for (const line of lines) {
    if (line.startsWith("m=")) {
      flush();
      video = line.startsWith("m=video");
    }
    const rtpmap = video ? /^a=rtpmap:(\d+) ([A-Za-z0-9-]+)\//.exec(line) : null;
    if (rtpmap?.[1] !== undefined && VIDEO_CODECS.has((rtpmap[2] ?? "").toUpperCase())) codecs.add(rtpmap[1]);
    const fmtp = video ? /^a=fmtp:(\d+) (.*)$/.exec(line) : null;
    if (fmtp?.[1] !== undefined && codecs.has(fmtp[1]) && !line.includes("x-google-max-bitrate")) {
      withFmtp.add(fmtp[1]);
      section.push(`${line};${params}`);
      continue;
    }
    if (fmtp?.[1] !== undefined && codecs.has(fmtp[1])) withFmtp.add(fmtp[1]);
    section.push(line);
  }
  // The SDP ends with an empty line after its last CRLF: keep it last.
  const trailing = section.at(-1) === "" ? section.pop() : undefined;
  flush();
  if (trailing !== undefined) out.push(trailing);
  return out.join(eol);
}
