/**
 * Camera → raw frame latency of the camera front end, per option set: a stamped RTSP camera
 * (test/harness/rtsp_camera.py with --stamp, H.264, H.265 or MJPEG) read by one front end at a time, the capture stamp read from
 * every raw I420 frame the front end writes to its pipe (as the bot's FrameSplitter receives it).
 *
 *   tsx bench/front-end-latency.ts [--codec h264|h265|mjpeg] [--seconds 15] [--variants a,b] [--json out.json]
 *
 * Variants: "ffmpeg" (the bot's command line, buildCameraArgs, reading the camera itself), "bot ffmpeg" (the same
 * through the frame-end proxy, as the bot runs it), ffmpeg with single option changes, and GStreamer
 * (rtspsrc latency=0 ! depay ! decode) for comparison. Run it under the e2e lock (it uses both cores).
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { buildCameraArgs } from "../src/media/ffmpeg-args.ts";
import { FrameEndProxy } from "../src/media/frame-end-proxy.ts";
import { resolveFfmpeg } from "../src/media/ffmpeg-path.ts";
import { FrameSplitter } from "../src/media/frame-splitter.ts";
import { buildGstArgs, GST_LAUNCH } from "../src/media/gst-front-end.ts";
import { createLogger } from "../src/util/logger.ts";
import { startRtspCamera } from "../test/harness/rtsp-camera.ts";
import { nowMs, readStamp } from "./stamp.ts";
import { fmt, summarizeLatency, type LatencySummary } from "./stats.ts";

export type Codec = "h264" | "h265" | "mjpeg";
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 25;
const WARMUP_MS = 3000;

interface Command {
  binary: string;
  args: string[];
  /** Where the raw video comes out (default stdout). */
  videoFd?: 1 | 3;
  /** Ends what the variant started beside the process. */
  close?: () => void;
}

/** The bot's ffmpeg reading the camera through its frame-end proxy (src/media/frame-end-proxy.ts), once it listens. */
async function throughProxy(url: string): Promise<Command> {
  const proxy = new FrameEndProxy(url, createLogger({ level: "silent" }));
  await proxy.listening;
  const proxied = proxy.url();
  if (proxied === undefined) throw new Error("the frame-end proxy could not listen on 127.0.0.1");
  return {
    ...ffmpegWith(proxied, []),
    close: () => {
      proxy.close();
    },
  };
}

/** The bot's ffmpeg command line with `extra` options put in front of the input and `fflags` as its -fflags. */
function ffmpegWith(url: string, extra: string[], fflags?: string): Command {
  const found = resolveFfmpeg();
  if ("error" in found) throw new Error(found.error);
  const args = buildCameraArgs({ url, maxWidth: WIDTH, maxHeight: HEIGHT, maxFps: FPS, audio: true });
  if (fflags !== undefined) {
    const at = args.indexOf("-fflags");
    if (at < 0) throw new Error("no -fflags in the bot's command line");
    args[at + 1] = fflags;
  }
  const input = args.indexOf("-i");
  args.splice(input, 0, ...extra);
  return { binary: found.path, args };
}

const DEPAY: Record<Codec, string> = {
  h264: "rtph264depay ! avdec_h264 thread-type=slice",
  h265: "rtph265depay ! avdec_h265 thread-type=slice",
  mjpeg: "rtpjpegdepay ! jpegdec",
};

/** GStreamer's RTSP client, depayloader and decoder; `fit` adds the bot's size and rate caps (videoscale, videorate). */
function gstreamer(url: string, codec: Codec, fit = false, oneThread = false): Command {
  const caps = fit
    ? `videoscale ! video/x-raw,format=I420,width=[2,${String(WIDTH)}],height=[2,${String(HEIGHT)}],pixel-aspect-ratio=1/1 ! videorate drop-only=true max-rate=${String(FPS)}`
    : "video/x-raw,format=I420";
  const launch = `rtspsrc location=${url} protocols=tcp latency=0 ! application/x-rtp,media=video ! ${oneThread ? DEPAY[codec].replace("thread-type=slice", "max-threads=1") : DEPAY[codec]} ! videoconvert ! ${caps} ! fdsink fd=1 sync=false`;
  return { binary: "gst-launch-1.0", args: ["-q", ...launch.split(" ")] };
}

const VARIANTS: Record<string, (url: string, codec: Codec) => Command | Promise<Command>> = {
  // ffmpeg reading the camera itself (the bot's command line before the frame-end proxy, and its fallback).
  ffmpeg: (url) => ffmpegWith(url, []),
  // What the bot runs for `frontEnd: ffmpeg` on an rtsp:// camera.
  "bot ffmpeg": (url) => throughProxy(url),
  nobuffer: (url) => ffmpegWith(url, [], "discardcorrupt+nobuffer"),
  "max_delay 0": (url) => ffmpegWith(url, ["-max_delay", "0"]),
  "reorder_queue_size 0": (url) => ffmpegWith(url, ["-reorder_queue_size", "0"]),
  // No parser: the RTP depacketizer's packets (whole NAL units) go to the decoder as they come, and the H.264
  // decoder's "chunks" mode ends the picture when its last macroblock row is decoded, not when the next begins.
  "noparse+chunks": (url) => ffmpegWith(url, ["-flags2", "chunks"], "discardcorrupt+noparse+nofillin"),
  noparse: (url) => ffmpegWith(url, [], "discardcorrupt+noparse+nofillin"),
  gstreamer: (url, codec) => gstreamer(url, codec),
  "gstreamer+fit": (url, codec) => gstreamer(url, codec, true),
  "gstreamer+fit 1 thread": (url, codec) => gstreamer(url, codec, true, true),
  // What the bot runs for `frontEnd: gstreamer` (src/media/gst-front-end.ts), audio branch included.
  "bot gstreamer": (url, codec) => ({
    binary: GST_LAUNCH,
    args: buildGstArgs({ url, maxWidth: WIDTH, maxHeight: HEIGHT, maxFps: FPS, audio: true, codec: codec === "h265" ? "h265" : "h264" }),
    videoFd: 3,
  }),
};

export interface FrontEndResult {
  codec: Codec;
  variant: string;
  firstFrameMs: number | undefined;
  fps: number;
  latency: LatencySummary;
}

/** Runs one variant against a running stamp camera for `seconds` after a 3 s warm-up (exported for bench/run.ts). */
export async function measureFrontEnd(url: string, codec: Codec, variant: string, seconds: number): Promise<FrontEndResult> {
  const make = VARIANTS[variant];
  if (!make) throw new Error(`unknown variant ${variant}`);
  const cmd = await make(url, codec);
  const started = nowMs();
  const child = spawn(cmd.binary, cmd.args, { stdio: ["pipe", "pipe", "ignore", "pipe", "pipe"] });
  let firstFrameAt: number | undefined;
  const latencies: number[] = [];
  let windowEnd = Infinity;
  const frame: { width: number; height: number; data: Uint8Array } = { width: WIDTH, height: HEIGHT, data: new Uint8Array(0) };
  const splitter = new FrameSplitter(
    (WIDTH * HEIGHT * 3) / 2,
    (data) => {
      const t = nowMs();
      frame.data = data;
      const stamp = readStamp(frame);
      if (firstFrameAt === undefined && stamp) {
        firstFrameAt = t;
        windowEnd = t + WARMUP_MS + seconds * 1000;
      }
      if (firstFrameAt !== undefined && t - firstFrameAt >= WARMUP_MS && t <= windowEnd) latencies.push(stamp ? t - stamp.ms : Number.NaN);
    },
    true,
  );
  const streams = [child.stdio[1], child.stdio[3], child.stdio[4]];
  const video = cmd.videoFd === 3 ? streams[1] : streams[0];
  for (const stream of streams) {
    if (!stream || !("resume" in stream)) continue;
    if (stream === video) {
      stream.on("data", (chunk: Buffer) => {
        splitter.push(chunk);
      });
    } else {
      stream.resume();
    }
  }
  const deadline = started + 20_000 + WARMUP_MS + seconds * 1000;
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (nowMs() > Math.min(windowEnd, deadline) || child.exitCode !== null) {
        clearInterval(check);
        resolve();
      }
    }, 100);
  });
  const exited = new Promise<void>((resolve) =>
    child.once("close", () => {
      resolve();
    }),
  );
  child.kill("SIGTERM");
  const hard = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(hard);
  cmd.close?.();
  return {
    codec,
    variant,
    firstFrameMs: firstFrameAt === undefined ? undefined : firstFrameAt - started,
    fps: latencies.length / seconds,
    latency: summarizeLatency(latencies),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      codec: { type: "string", default: "h264" },
      seconds: { type: "string", default: "15" },
      variants: { type: "string" },
      json: { type: "string" },
    },
  });
  const codec = values.codec as Codec;
  if (!["h264", "h265", "mjpeg"].includes(codec)) throw new Error(`--codec h264|h265|mjpeg, not ${codec}`);
  const seconds = Number(values.seconds);
  const variants = values.variants?.split(",") ?? Object.keys(VARIANTS);
  const cam = await startRtspCamera({ width: WIDTH, height: HEIGHT, fps: FPS, codec, stamp: true, bitrate: 2500 });
  const results: FrontEndResult[] = [];
  try {
    for (const variant of variants) {
      const r = await measureFrontEnd(cam.url, codec, variant, seconds);
      results.push(r);
      process.stdout.write(
        `${codec} ${variant.padEnd(22)} camera→raw frame p50 ${fmt(r.latency.p50)} ms, p95 ${fmt(r.latency.p95)} ms, max ${fmt(r.latency.max)} ms, ${fmt(r.fps, 1)} fps, misreads ${String(r.latency.misreads)}, first frame ${fmt(r.firstFrameMs)} ms\n`,
      );
    }
  } finally {
    await cam.stop();
  }
  if (values.json !== undefined) writeFileSync(values.json, JSON.stringify(results, null, 2));
}

// Run as a script; imported (bench/run.ts), it only provides measureFrontEnd.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
