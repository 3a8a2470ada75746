/**
 * Ends each H.264/H.265 frame for ffmpeg the moment its last RTP packet arrives. libavformat's parser, behind its
 * RTP depacketizer, hands an access unit on only when the next one starts (one frame period late: 40 ms at 25 fps);
 * an access unit delimiter right after the frame's last packet (the one with the RTP marker bit) ends it at once.
 * Measured (docs/benchmark.md, "An access unit delimiter after each frame ends it in ffmpeg"): camera → raw frame
 * 82 → 43 ms (H.264), 85 → 46 ms (H.265) at 720p25, the decoded frames identical.
 *
 * This follows ffmpeg's RTSP exchange with the camera (both directions, see frame-end-proxy.ts): the video track of
 * the DESCRIBE answer, the interleaved channel its SETUP answer gives, then each RTP packet on that channel.
 * The delimiter is an RTP packet of its own with the marker packet's sequence number (ffmpeg takes a repeated one as
 * in order and the camera's numbering is left alone) and the next frame's timestamp as the last step foretells it
 * (the parser stamps the next frame with the packet its first byte came in). It stops for good on a camera whose
 * timestamps go back (B-frames: decode order is not capture order) or whose marker bit does not end frames: the
 * one delimiter written before that shows is not written again in the camera's later sessions.
 */
import { headerOf, headLines } from "./rtsp-split.ts";

export interface VideoTrack {
  codec: "H264" | "H265";
  payloadType: number;
  /** The track's a=control ("" when the SDP has none). */
  control: string;
  /** The SDP's media sections: a lone one is set up with the aggregate URL. */
  sections: number;
  /** The other sections' controls: a SETUP one of them matches at least as closely is not the video's. */
  others: string[];
}

/** The first video track of an SDP carrying H.264 or H.265 at 90 kHz. */
export function findVideoTrack(sdp: string): VideoTrack | undefined {
  const sections = sdp
    .split(/\r?\n(?=m=)/)
    .slice(1)
    .map((section) => section.split(/\r?\n/).map((l) => l.trim()));
  const controlOf = (lines: string[]): string => lines.find((l) => l.startsWith("a=control:"))?.slice("a=control:".length) ?? "";
  for (const [i, lines] of sections.entries()) {
    const m = /^m=video \d+ \S+ ([\d ]+)$/.exec(lines[0] ?? "");
    if (!m) continue;
    for (const pt of (m[1] ?? "").trim().split(/\s+/).map(Number)) {
      const map = lines.find((l) => l.startsWith(`a=rtpmap:${String(pt)} `));
      const codec = /^a=rtpmap:\d+ (H264|H265)\/90000\b/i.exec(map ?? "")?.[1]?.toUpperCase();
      if ((codec === "H264" || codec === "H265") && pt >= 0 && pt <= 127) {
        const others = sections.filter((_, j) => j !== i).map(controlOf);
        return { codec, payloadType: pt, control: controlOf(lines), sections: sections.length, others };
      }
    }
  }
  return undefined;
}

/** The path of an rtsp:// URL (what follows the host), or the text itself when it is not absolute. */
function pathOf(url: string): string {
  return url.replace(/^rtsps?:\/\/[^/]*/i, "");
}

/**
 * Whether a SETUP of `url` sets up the track. ffmpeg appends a relative control to the base with a "/" and takes an
 * absolute one as it is (host and port are the proxy's here, so paths are compared). Another track whose control
 * matches too, at least as long, makes it not the video's (`1` against `audio/1`).
 */
export function setsUp(url: string, track: VideoTrack): boolean {
  const control = track.control;
  if (control === "" || control === "*") return track.sections === 1;
  const path = pathOf(url);
  const matches = (c: string): boolean => c !== "" && c !== "*" && (path === pathOf(c) || path.endsWith(`/${c}`));
  return matches(control) && !track.others.some((c) => c.length >= control.length && matches(c));
}

const DELIMITER: Record<VideoTrack["codec"], Buffer> = {
  // H.264 access unit delimiter (NAL type 9), primary_pic_type 7: any slice type.
  H264: Buffer.from([0x09, 0xf0]),
  // H.265 AUD (NAL type 35, layer 0, temporal id 1), pic_type 2: any slice type.
  H265: Buffer.from([0x46, 0x01, 0x50]),
};

export class FrameEnder {
  private track: VideoTrack | undefined;
  private readonly setups = new Map<string, string>();
  private channel: number | undefined;
  private lastTs: number | undefined;
  private step: number | undefined;
  /** The timestamp of the frame a delimiter was last written after. */
  private endedTs: number | undefined;
  /** RTP packets on the video channel, and delimiters written. */
  readonly counts = { video: 0, delimiters: 0 };
  /** The CSeq of a PLAY not yet answered, and whether the camera has said yes to one (its media should follow). */
  private play: string | undefined;
  playing = false;

  /** `stopped`: why delimiters stopped, once they have (given: an earlier session of the camera found it). */
  constructor(public stopped?: string) {}

  /** A message from ffmpeg to the camera (its header block). */
  request(head: string): void {
    const line = headLines(head)[0] ?? "";
    const setup = /^SETUP (\S+) RTSP\/1\.0$/.exec(line);
    const cseq = headerOf(head, "cseq");
    if (setup?.[1] !== undefined && cseq !== undefined && this.setups.size < 16) this.setups.set(cseq, setup[1]);
    if (line.startsWith("PLAY ")) this.play = cseq;
  }

  /** A message from the camera to ffmpeg. */
  response(head: string, body: Buffer): void {
    if (/^application\/sdp\b/i.test(headerOf(head, "content-type") ?? "")) this.track = findVideoTrack(body.toString("utf8"));
    const cseq = headerOf(head, "cseq");
    if (cseq !== undefined && cseq === this.play) {
      this.play = undefined;
      if (/^RTSP\/1\.0 2\d\d\b/.test(headLines(head)[0] ?? "")) this.playing = true;
    }
    const url = cseq === undefined ? undefined : this.setups.get(cseq);
    if (url === undefined) return;
    this.setups.delete(cseq ?? "");
    const interleaved = /interleaved=(\d+)/.exec(headerOf(head, "transport") ?? "")?.[1];
    if (this.track && interleaved !== undefined && setsUp(url, this.track)) this.channel = Number(interleaved);
  }

  /** An interleaved frame from the camera; returns the interleaved frame to send after it (a delimiter), if any. */
  frame(channel: number, rtp: Buffer): Buffer | undefined {
    const track = this.track;
    if (track === undefined || channel !== this.channel || rtp.length < 12 || rtp[0] === undefined || rtp[1] === undefined)
      return undefined;
    if (rtp[0] >> 6 !== 2 || (rtp[1] & 0x7f) !== track.payloadType) return undefined;
    this.counts.video++;
    if (this.stopped !== undefined) return undefined;
    const ts = rtp.readUInt32BE(4);
    if (this.endedTs === ts) {
      this.stopped = "the camera's RTP marker bit does not end its frames";
      return undefined;
    }
    if (this.lastTs !== undefined && ts !== this.lastTs) {
      const step = (ts - this.lastTs) >>> 0;
      // More than half the clock's range forward is a step back: frames out of capture order.
      if (step > 0x7fffffff) {
        this.stopped = "the camera's frames are not in capture order (B-frames)";
        return undefined;
      }
      this.step = step;
    }
    this.lastTs = ts;
    if ((rtp[1] & 0x80) === 0 || this.step === undefined) return undefined;
    this.endedTs = ts;
    const nal = DELIMITER[track.codec];
    const out = Buffer.alloc(4 + 12 + nal.length);
    out[0] = 0x24;
    out[1] = channel;
    out.writeUInt16BE(12 + nal.length, 2);
    out[4] = 0x80;
    out[5] = track.payloadType;
    rtp.copy(out, 6, 2, 4);
    out.writeUInt32BE((ts + this.step) >>> 0, 8);
    rtp.copy(out, 12, 8, 12);
    nal.copy(out, 16);
    this.counts.delimiters++;
    return out;
  }
}
