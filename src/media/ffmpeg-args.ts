/** Command lines for the camera pipeline's ffmpeg. Pure: the tests read them, the process owner runs them. */

import type { HwAccel } from "../config/schema.ts";

export type { HwAccel };

export interface CameraArgsOptions {
  url: string;
  /** Hardware decoding; decoded frames are copied back to memory for the scaler. */
  hwaccel?: HwAccel;
  maxWidth: number;
  maxHeight: number;
  maxFps: number;
  audio: boolean;
}

/** PCM as handed to RTCAudioSource: 48 kHz, mono, s16le; 10 ms = 480 samples = 960 bytes. */
export const AUDIO_SAMPLE_RATE = 48_000;
export const AUDIO_CHANNELS = 1;
export const AUDIO_CHUNK_SAMPLES = AUDIO_SAMPLE_RATE / 100;
export const AUDIO_CHUNK_BYTES = AUDIO_CHUNK_SAMPLES * 2 * AUDIO_CHANNELS;

/** Network sources are live; anything else (a file path) is played in real time, looped, like a camera. */
export function isNetworkSource(url: string): boolean {
  return /^(rtsps?|rtmps?|https?|udp|rtp|srt|tcp):\/\//i.test(url);
}

/**
 * `demo://` is a camera that needs no hardware: ffmpeg's test pattern with the local time burnt in
 * and a quiet beep each second, generated live (the embedded default and the demo use it).
 */
export function isDemoSource(url: string): boolean {
  return url.startsWith("demo://");
}

export interface InputArgs {
  args: string[];
  /** The -map selector of the audio stream. */
  audioMap: string;
}

/**
 * Input options. For a live source: low delay, a small probe, and for RTSP
 * TCP transport with a 5 s socket timeout (so a dead camera is noticed). A file is read at its
 * native rate and looped (demos, tests).
 */
export function inputArgs(url: string, size: { width: number; height: number; fps: number }): InputArgs {
  if (isDemoSource(url)) {
    const video = `testsrc2=size=${size.width}x${size.height}:rate=${size.fps},drawtext=text='%{localtime}':fontsize=${Math.round(size.height / 12)}:fontcolor=white:box=1:boxcolor=black@0.6:x=40:y=40`;
    return {
      args: [
        "-re",
        "-f",
        "lavfi",
        "-i",
        video,
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=880:beep_factor=4:sample_rate=48000,volume=0.1",
      ],
      audioMap: "1:a:0",
    };
  }
  if (!isNetworkSource(url)) return { args: ["-re", "-stream_loop", "-1", "-i", url], audioMap: "0:a:0" };
  // No "-fflags nobuffer": it throws away the packets read while probing, the keyframe with them, so the
  // first picture waits for the next keyframe (measured 1.43 s vs 0.39 s to the first frame; the same
  // steady-state latency either way: the probed frames are decoded at once and only the newest is sent).
  // What ffmpeg still holds: libavformat's RTP H.264 depacketizer hands on an access unit only when the
  // next one starts (one frame period; no ffmpeg 5.1 option ends it on the RTP marker bit): the frame-end
  // proxy (frame-end-proxy.ts), which an rtsp:// camera's URL here points at, ends it.
  const args = ["-fflags", "discardcorrupt", "-flags", "low_delay", "-probesize", "65536", "-analyzeduration", "500000"];
  if (/^rtsps?:\/\//i.test(url)) args.push("-rtsp_transport", "tcp", "-timeout", "5000000");
  args.push("-i", url);
  return { args, audioMap: "0:a:0" };
}

/**
 * The video filter. Frames above the fps cap are dropped without holding any back (the `fps` filter
 * waits for the next frame before it emits one): `select` keeps a deadline in variable 0, passes a
 * frame that reaches it (with a quarter-frame tolerance for timestamp jitter) and moves the deadline
 * one frame period on, never more than a period behind the stream. Then the picture is scaled down
 * to fit the cap, keeping its aspect ratio, with even sizes for I420. Quotes protect the commas.
 */
export function videoFilter(opts: Pick<CameraArgsOptions, "maxWidth" | "maxHeight" | "maxFps">): string {
  const period = (1 / opts.maxFps).toFixed(6);
  const tolerance = (0.25 / opts.maxFps).toFixed(6);
  return [
    `select='if(gte(t+${tolerance},ld(0)),st(0,max(ld(0)+${period},t-${period}))*0+1,0)'`,
    `scale=w='min(iw,${opts.maxWidth})':h='min(ih,${opts.maxHeight})':force_original_aspect_ratio=decrease:force_divisible_by=2`,
  ].join(",");
}

/**
 * One ffmpeg per camera: raw I420 frames on fd 1, and (when audio is on) s16le 48 kHz mono PCM on fd 3.
 * No shell is involved: the URL is one argv entry.
 */
export function buildCameraArgs(opts: CameraArgsOptions): string[] {
  const input = inputArgs(opts.url, { width: opts.maxWidth, height: opts.maxHeight, fps: opts.maxFps });
  const hw = opts.hwaccel !== undefined && opts.hwaccel !== "none" && !isDemoSource(opts.url) ? ["-hwaccel", opts.hwaccel] : [];
  // -progress: key=value reports on stderr every half second, from which LagWatch tells whether ffmpeg keeps up.
  const args = ["-hide_banner", "-nostats", "-loglevel", "info", "-progress", "pipe:2", "-stats_period", "0.5", ...hw, ...input.args];
  args.push(
    "-map",
    "0:v:0",
    "-vf",
    videoFilter(opts),
    "-fps_mode",
    "passthrough",
    "-pix_fmt",
    "yuv420p",
    "-f",
    "rawvideo",
    // The rawvideo encoder has frame threading, and ffmpeg gives encoders "auto" threads: each frame left the
    // encoder only when the next one went in (one frame period, 40 ms at 25 fps). One thread sends it at once.
    "-threads",
    "1",
    "-flush_packets",
    "1",
    "pipe:1",
  );
  if (opts.audio) {
    args.push(
      "-map",
      input.audioMap,
      "-ac",
      String(AUDIO_CHANNELS),
      "-ar",
      String(AUDIO_SAMPLE_RATE),
      "-f",
      "s16le",
      "-flush_packets",
      "1",
      "pipe:3",
    );
  }
  return args;
}

/** Reads the size of the raw video output from ffmpeg's stream report on stderr. */
export class OutputSizeParser {
  private inOutput = false;

  /** Feed stderr lines; returns the size once the first output video stream is reported. */
  line(text: string): { width: number; height: number } | undefined {
    if (/^Output #0\b/.test(text)) {
      this.inOutput = true;
      return undefined;
    }
    if (!this.inOutput) return undefined;
    const m = /Stream #0:\d+.*: Video: rawvideo.*?, (\d{2,5})x(\d{2,5})/.exec(text);
    if (m?.[1] === undefined || m[2] === undefined) return undefined;
    return { width: Number(m[1]), height: Number(m[2]) };
  }
}

/** True when ffmpeg reports that the hardware decoder could not be set up. */
export function isHwAccelError(stderrLine: string): boolean {
  return /Device creation failed|No device available for decoder|Device setup failed|Failed setup for format/.test(stderrLine);
}

/** True when ffmpeg refused the audio output because the source has no audio stream. */
export function isMissingAudioError(stderrLine: string): boolean {
  return /Stream map '\d+:a:0' matches no streams|does not contain any stream/.test(stderrLine);
}
