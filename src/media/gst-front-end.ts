/**
 * The GStreamer front end (for RTSP cameras where the lean ffmpeg is not built, or asked for; front-end.ts): gst-launch-1.0 reads an RTSP H.264/H.265 camera and writes
 * the same raw I420 frames and 48 kHz mono s16le PCM as the ffmpeg front end, one frame period sooner.
 *
 * Why: libavformat's RTP H.264 depacketizer hands fragments on, and its parser ends an access unit only when the
 * next one begins (one frame, 40 ms at 25 fps); ffmpeg 5.1 has no option to end it on the RTP marker bit, and
 * `-fflags noparse` feeds FU-A fragments to the decoder (broken pictures). rtph264depay ends the access unit on
 * the marker bit. Measured camera → raw frame at 720p25 (bench/front-end-latency.ts): see docs/benchmark.md.
 *
 * H.264 and H.265 over RTSP (H.265 measured 44 ms against ffmpeg's 84). The codec is not known before the
 * camera answers: a run starts with the H.264 chain, rtspsrc announces each stream's caps in a `-v` line, and a
 * run whose chain does not fit the announced codec (it would not link; with an audio stream gst-launch would
 * just play the sound) ends itself there. The pipeline then starts the H.265 chain, or ffmpeg for any other
 * codec (MJPEG: ffmpeg is as fast, 44 ms) and on gst-launch's own errors (a missing plugin); see
 * restart-policy.ts.
 * Pure: the tests read the command line; CameraRun runs it (ProcessLayout "gst-launch": video on fd 3, audio on
 * fd 4, `-v` caps lines on stdout, from which the output size is read, and the lag probe's line per frame).
 */
import { AUDIO_CHANNELS, AUDIO_SAMPLE_RATE } from "./ffmpeg-args.ts";

export const GST_LAUNCH = "gst-launch-1.0";

/** The video codecs the GStreamer front end decodes. */
export type GstCodec = "h264" | "h265";

/** Depayloader and decoder per codec; slice threads only (frame threads hold a frame per extra thread). */
const DECODE: Record<GstCodec, string[]> = {
  h264: ["rtph264depay", "!", "avdec_h264", "thread-type=slice"],
  h265: ["rtph265depay", "!", "avdec_h265", "thread-type=slice"],
};

export interface GstArgsOptions {
  url: string;
  maxWidth: number;
  maxHeight: number;
  maxFps: number;
  audio: boolean;
  /** Default h264. */
  codec?: GstCodec;
}

/** Whether the GStreamer front end can read this URL at all (an RTSP camera). */
export function gstCanRead(url: string): boolean {
  return /^rtsps?:\/\//i.test(url);
}

/**
 * gst-launch-1.0 argv (no shell: each element property is one argv entry, so the URL stays one entry).
 * - rtspsrc: TCP like the ffmpeg front end, no jitter buffer (latency=0), a dead camera noticed after 5 s.
 * - rtph264depay ! avdec_h264 (or the H.265 pair) with slice threads only.
 * - videoscale into caps with an even size range: it keeps the aspect ratio and scales down to fit.
 * - videorate drop-only: frames above maxFps are dropped, none held back or duplicated.
 * - identity silent=false: with `-v`, one stdout line per frame with its timestamp, from which LagWatch tells
 *   whether the pipeline keeps up with the camera (gstFrameTimeMs; the ffmpeg front end's `-progress`).
 * - fdsink sync=false: each frame is written as soon as it is decoded; async=false: a sink whose branch never
 *   gets data (a camera without sound leaves the audio branch unlinked) must not hold the pipeline out of
 *   PLAYING (it did: no video at all).
 */
export function buildGstArgs(opts: GstArgsOptions): string[] {
  const maxW = opts.maxWidth - (opts.maxWidth % 2);
  const maxH = opts.maxHeight - (opts.maxHeight % 2);
  const video = [
    "src.",
    "!",
    "application/x-rtp,media=video",
    "!",
    ...DECODE[opts.codec ?? "h264"],
    "!",
    "videoconvert",
    "!",
    "videoscale",
    "!",
    `video/x-raw,format=I420,width=(int)[2,${String(maxW)},2],height=(int)[2,${String(maxH)},2],pixel-aspect-ratio=1/1`,
    "!",
    "videorate",
    "drop-only=true",
    `max-rate=${String(opts.maxFps)}`,
    "!",
    "identity",
    `name=${LAG_PROBE}`,
    "silent=false",
    "!",
    "fdsink",
    "name=vsink",
    "fd=3",
    "sync=false",
    "async=false",
  ];
  const audio = opts.audio
    ? [
        "src.",
        "!",
        "application/x-rtp,media=audio",
        "!",
        "decodebin",
        "!",
        "audioconvert",
        "!",
        "audioresample",
        "!",
        `audio/x-raw,format=S16LE,layout=interleaved,rate=${String(AUDIO_SAMPLE_RATE)},channels=${String(AUDIO_CHANNELS)}`,
        "!",
        "fdsink",
        "name=asink",
        "fd=4",
        "sync=false",
        "async=false",
      ]
    : [];
  return ["-v", "rtspsrc", "name=src", `location=${opts.url}`, "protocols=tcp", "latency=0", "tcp-timeout=5000000", ...video, ...audio];
}

/** The identity element before the video sink whose `-v` lines carry each written frame's timestamp. */
const LAG_PROBE = "lagprobe";
const PROBE_PREFIX = `/GstIdentity:${LAG_PROBE}: last-message = `;

/** True for the lag probe's per-buffer and per-event lines (not logged, not kept for error reports). */
export function isGstProbeLine(line: string): boolean {
  return line.includes(PROBE_PREFIX);
}

/**
 * A written frame's timestamp (ms of the pipeline's running time) from the lag probe's line for it; undefined for
 * any other line. rtspsrc stamps a buffer from the RTP time in step with its arrival, so while the pipeline keeps
 * up `wall clock − timestamp` stays constant, and frames that wait in front of a decoder that cannot keep up
 * make it grow (measured: 2 ms → 1.2 s over 6 s with gst-launch stopped 97 ms of every 100; back to 2 ms at once
 * when let run).
 */
export function gstFrameTimeMs(line: string): number | undefined {
  const at = line.indexOf(PROBE_PREFIX);
  if (at < 0) return undefined;
  const m = /^chain .*?\bpts: (\d+):(\d\d):(\d\d(?:\.\d+)?),/.exec(line.slice(at + PROBE_PREFIX.length));
  if (m?.[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  return (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000;
}

/** The output size from gst-launch's `-v` line for the video sink's negotiated caps; undefined for other lines. */
export function gstSizeFromLine(line: string): { width: number; height: number } | undefined {
  if (!line.includes("GstFdSink:vsink.GstPad:sink: caps = video/x-raw")) return undefined;
  const m = /width=\(int\)(\d+), height=\(int\)(\d+)/.exec(line);
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** True for gst-launch's complaints that this pipeline cannot work here (codec, missing plugin), not a camera outage. */
export function isGstUnsupported(line: string): boolean {
  return /not-negotiated|not-linked|erroneous pipeline|no element "|could not link|missing a plug-in|no suitable plugins/i.test(line);
}

/**
 * True for rtspsrc's warning that the camera closed the connection (or it could not be read). rtspsrc then sends
 * EOS, but gst-launch ends only once every sink has it, and a branch that has had no data yet (the audio branch's
 * decodebin before its first packet) never passes it on: with the camera gone right after the first frame,
 * gst-launch stayed up until the stall watch (10 s; the ffmpeg front end exits at once). The run ends on this line.
 */
export function isGstCameraGone(line: string): boolean {
  return /^WARNING: from element \/GstPipeline:[^/]+\/GstRTSPSrc:src: Could not read from resource/.test(line);
}

/** The GStreamer chain for an RTP encoding name, if there is one. */
export function gstCodecOf(encoding: string): GstCodec | undefined {
  const name = encoding.toUpperCase();
  return name === "H264" ? "h264" : name === "H265" ? "h265" : undefined;
}

/**
 * The video codec (RTP encoding name) rtspsrc announces in a `-v` line: any caps line of rtspsrc or the elements
 * inside it (its RTP manager's pads carry the caps from the first packet on); undefined for any other line.
 * Not only rtspsrc's own output pad: under load its "not-linked" error ended gst-launch before that pad's caps
 * line was printed, while the manager's pads had printed H265 already (2 of 36 runs with three test cameras at
 * once), and the H.265 camera fell back to ffmpeg.
 */
export function gstVideoEncoding(line: string): string | undefined {
  if (!/^\/GstPipeline:[^/]+\/GstRTSPSrc:src[./][^ ]*: caps = application\/x-rtp, media=\(string\)video/.test(line)) return undefined;
  return /encoding-name=\(string\)([A-Za-z0-9-]+)/.exec(line)?.[1];
}
