/**
 * ffmpeg command lines (buildCameraArgs and friends), the stderr size parser, the missing-audio
 * detector, and one short run of the real ffmpeg on the demo source.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  AUDIO_CHANNELS,
  AUDIO_CHUNK_BYTES,
  AUDIO_CHUNK_SAMPLES,
  AUDIO_SAMPLE_RATE,
  buildCameraArgs,
  inputArgs,
  isDemoSource,
  isMissingAudioError,
  isNetworkSource,
  OutputSizeParser,
  videoFilter,
  type CameraArgsOptions,
} from "../../src/media/ffmpeg-args.ts";
import { resolveFfmpeg } from "../../src/media/ffmpeg-path.ts";
import { FrameSplitter } from "../../src/media/frame-splitter.ts";

function opts(url: string, extra: Partial<CameraArgsOptions> = {}): CameraArgsOptions {
  return { url, maxWidth: 1280, maxHeight: 720, maxFps: 25, audio: true, ...extra };
}

/** The value after `flag` (first occurrence). */
function valueOf(args: readonly string[], flag: string, from = 0): string | undefined {
  const i = args.indexOf(flag, from);
  return i < 0 ? undefined : args[i + 1];
}

/** True when `seq` appears in `args` as consecutive entries. */
function hasSequence(args: readonly string[], seq: readonly string[]): boolean {
  for (let i = 0; i + seq.length <= args.length; i++) {
    if (seq.every((s, j) => args[i + j] === s)) return true;
  }
  return false;
}

function count(args: readonly string[], value: string): number {
  return args.filter((a) => a === value).length;
}

describe("constants", () => {
  it("10 ms of 48 kHz mono s16le PCM is 480 samples, 960 bytes", () => {
    expect(AUDIO_SAMPLE_RATE).toBe(48_000);
    expect(AUDIO_CHANNELS).toBe(1);
    expect(AUDIO_CHUNK_SAMPLES).toBe(480);
    expect(AUDIO_CHUNK_BYTES).toBe(960);
  });
});

describe("isNetworkSource / isDemoSource", () => {
  it.each([
    ["rtsp://10.0.0.2/stream", true],
    ["RTSP://10.0.0.2/stream", true],
    ["rtsps://cam/x", true],
    ["rtmp://host/live", true],
    ["https://host/stream.m3u8", true],
    ["http://host/mjpeg", true],
    ["udp://239.0.0.1:1234", true],
    ["srt://host:9000", true],
    ["tcp://host:9000", true],
    ["/videos/loop.mp4", false],
    ["loop.mp4", false],
    ["file:///videos/loop.mp4", false],
    ["demo://", false],
    ["rtsp:/missing-slash", false],
  ])("isNetworkSource(%j) = %s", (url, expected) => {
    expect(isNetworkSource(url)).toBe(expected);
  });

  it("demo:// and only demo:// is the demo source", () => {
    expect(isDemoSource("demo://")).toBe(true);
    expect(isDemoSource("demo://anything")).toBe(true);
    expect(isDemoSource("rtsp://demo/")).toBe(false);
    expect(isDemoSource("/demo://")).toBe(false);
  });
});

describe("buildCameraArgs: inputs", () => {
  it("RTSP: TCP transport and a socket timeout, before the input, and low-latency input flags", () => {
    const url = "rtsp://admin:pw@10.0.0.2:554/Streaming/Channels/101";
    const args = buildCameraArgs(opts(url));
    const input = args.indexOf("-i");
    expect(args[input + 1]).toBe(url);
    expect(count(args, "-i")).toBe(1);
    const before = args.slice(0, input);
    expect(hasSequence(before, ["-rtsp_transport", "tcp"])).toBe(true);
    expect(hasSequence(before, ["-timeout", "5000000"])).toBe(true);
    expect(hasSequence(before, ["-fflags", "discardcorrupt"])).toBe(true);
    expect(hasSequence(before, ["-flags", "low_delay"])).toBe(true);
    // A live source is never looped or throttled.
    expect(args).not.toContain("-stream_loop");
    expect(args).not.toContain("-re");
  });

  it("rtsps:// gets the same RTSP options", () => {
    const args = buildCameraArgs(opts("rtsps://cam.local/x"));
    expect(hasSequence(args, ["-rtsp_transport", "tcp"])).toBe(true);
    expect(hasSequence(args, ["-timeout", "5000000"])).toBe(true);
  });

  it("other network sources get the low-latency flags but no RTSP options", () => {
    const args = buildCameraArgs(opts("http://cam.local/mjpeg"));
    expect(args).not.toContain("-rtsp_transport");
    expect(args).not.toContain("-timeout");
    expect(hasSequence(args, ["-flags", "low_delay"])).toBe(true);
    expect(valueOf(args, "-i")).toBe("http://cam.local/mjpeg");
  });

  it.each([
    ["spaces", "rtsp://admin:my pass@10.0.0.2/live stream"],
    ["quotes", `rtsp://admin:it's"q"@10.0.0.2/x`],
    ["shell metacharacters", "rtsp://admin:a;rm -rf /;$(id)`id`|&>x@10.0.0.2/x"],
    ["a newline", "rtsp://admin:a\nb@10.0.0.2/x"],
  ])("the URL is one argv entry, untouched, even with %s", (_label, url) => {
    const args = buildCameraArgs(opts(url));
    const plain = buildCameraArgs(opts("rtsp://h/x"));
    expect(args).toHaveLength(plain.length);
    expect(valueOf(args, "-i")).toBe(url);
    expect(args.filter((a) => a.includes("10.0.0.2"))).toEqual([url]);
    // Everything but the URL is identical to a plain RTSP URL's command line.
    expect(args.map((a) => (a === url ? "URL" : a))).toEqual(plain.map((a) => (a === "rtsp://h/x" ? "URL" : a)));
  });

  it("a file path is played in real time and looped", () => {
    const args = buildCameraArgs(opts("/videos/door.mp4"));
    expect(hasSequence(args, ["-re", "-stream_loop", "-1", "-i", "/videos/door.mp4"])).toBe(true);
    expect(args).not.toContain("-rtsp_transport");
    expect(args).not.toContain("-fflags");
    expect(valueOf(args, "-map", args.indexOf("pipe:1"))).toBe("0:a:0");
  });

  it("demo:// uses two lavfi inputs (test pattern and beep) and maps audio from the second", () => {
    const args = buildCameraArgs(opts("demo://", { maxWidth: 640, maxHeight: 360, maxFps: 15 }));
    expect(count(args, "-i")).toBe(2);
    expect(count(args, "lavfi")).toBe(2);
    const first = args.indexOf("-i");
    const video = args[first + 1] ?? "";
    const audio = valueOf(args, "-i", first + 1) ?? "";
    expect(video).toMatch(/^testsrc2=size=640x360:rate=15,drawtext=/);
    expect(video).toContain("fontsize=30");
    expect(audio).toMatch(/^sine=.*sample_rate=48000/);
    expect(hasSequence(args, ["-re", "-f", "lavfi", "-i", video])).toBe(true);
    expect(args).not.toContain("demo://");
    expect(args).not.toContain("-rtsp_transport");
    const audioMap = valueOf(args, "-map", args.indexOf("pipe:1"));
    expect(audioMap).toBe("1:a:0");
    expect(inputArgs("demo://", { width: 2, height: 2, fps: 1 }).audioMap).toBe("1:a:0");
  });
});

describe("buildCameraArgs: outputs", () => {
  it("raw I420 video on pipe:1 and s16le 48 kHz mono audio on pipe:3", () => {
    const args = buildCameraArgs(opts("rtsp://h/x", { maxWidth: 800, maxHeight: 600, maxFps: 10 }));
    expect(args.slice(0, 4)).toEqual(["-hide_banner", "-nostats", "-loglevel", "info"]);
    const pipe1 = args.indexOf("pipe:1");
    const pipe3 = args.indexOf("pipe:3");
    expect(pipe1).toBeGreaterThan(args.indexOf("-i"));
    expect(pipe3).toBe(args.length - 1);
    const video = args.slice(args.indexOf("-i") + 2, pipe1 + 1);
    expect(video).toEqual([
      "-map",
      "0:v:0",
      "-vf",
      videoFilter({ maxWidth: 800, maxHeight: 600, maxFps: 10 }),
      "-fps_mode",
      "passthrough",
      "-pix_fmt",
      "yuv420p",
      "-f",
      "rawvideo",
      // One encoder thread: with frame threading the rawvideo encoder held each frame until the next one came.
      "-threads",
      "1",
      "-flush_packets",
      "1",
      "pipe:1",
    ]);
    expect(args.slice(pipe1 + 1)).toEqual(["-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-flush_packets", "1", "pipe:3"]);
  });

  it("audio off: no audio map and no pipe:3", () => {
    for (const url of ["rtsp://h/x", "demo://", "/v.mp4"]) {
      const args = buildCameraArgs(opts(url, { audio: false }));
      expect(args).not.toContain("pipe:3");
      expect(args).not.toContain("s16le");
      expect(count(args, "-map")).toBe(1);
      expect(args.at(-1)).toBe("pipe:1");
    }
  });

  it("videoFilter caps the rate and scales down to fit, keeping even sizes", () => {
    const vf = videoFilter({ maxWidth: 1280, maxHeight: 720, maxFps: 25 });
    const [select, scale] = vf.split(/,(?=scale=)/);
    expect(select).toBe("select='if(gte(t+0.010000,ld(0)),st(0,max(ld(0)+0.040000,t-0.040000))*0+1,0)'");
    expect(scale).toBe("scale=w='min(iw,1280)':h='min(ih,720)':force_original_aspect_ratio=decrease:force_divisible_by=2");
    expect(videoFilter({ maxWidth: 320, maxHeight: 240, maxFps: 4 })).toContain("ld(0)+0.250000");
  });
});

const REAL_SAMPLE = [
  "Input #0, rtsp, from 'rtsp://***@10.0.0.2/stream':",
  "  Metadata:",
  "    title           : Media Presentation",
  "  Duration: N/A, start: 0.000000, bitrate: N/A",
  "  Stream #0:0: Video: h264 (Main), yuv420p(progressive), 1920x1080, 25 fps, 25 tbr, 90k tbn",
  "  Stream #0:1: Audio: aac (LC), 48000 Hz, mono, fltp",
  "Stream mapping:",
  "  Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))",
  "  Stream #0:1 -> #1:0 (aac (native) -> pcm_s16le (native))",
  "Output #1, s16le, to 'pipe:3':",
  "  Stream #1:0(und): Audio: pcm_s16le, 48000 Hz, mono, s16, 768 kb/s (default)",
  "Output #0, rawvideo, to 'pipe:1':",
  "  Metadata:",
  "    encoder         : Lavf59.27.100",
  "  Stream #0:0(und): Video: rawvideo (I420 / 0x30323449), yuv420p, 1280x720 [SAR 1:1 DAR 16:9], q=2-31, 331776 kb/s, 30 fps, 30 tbn (default)",
];

/** Feeds lines and returns every non-undefined result with the index of its line. */
function parseAll(lines: readonly string[]): { index: number; size: { width: number; height: number } }[] {
  const parser = new OutputSizeParser();
  const out: { index: number; size: { width: number; height: number } }[] = [];
  lines.forEach((line, index) => {
    const size = parser.line(line);
    if (size) out.push({ index, size });
  });
  return out;
}

describe("OutputSizeParser", () => {
  it("takes the output size, not the input's, when Output #1 is printed before Output #0", () => {
    const found = parseAll(REAL_SAMPLE);
    expect(found).toEqual([{ index: REAL_SAMPLE.length - 1, size: { width: 1280, height: 720 } }]);
  });

  it("works on the same lines with their leading whitespace trimmed (as the process owner hands them on)", () => {
    expect(parseAll(REAL_SAMPLE.map((l) => l.trim()))).toEqual([{ index: REAL_SAMPLE.length - 1, size: { width: 1280, height: 720 } }]);
  });

  it("ignores an input that is itself rawvideo (lavfi) and reads Output #0 printed first", () => {
    const lines = [
      "Input #0, lavfi, from 'testsrc2=size=320x240:rate=10':",
      "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 10 tbr, 10 tbn",
      "Output #0, rawvideo, to 'pipe:1':",
      "  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 160x120 [SAR 1:1 DAR 4:3], q=2-31, 2304 kb/s, 10 fps, 10 tbn",
      "Output #1, s16le, to 'pipe:3':",
      "  Stream #1:0: Audio: pcm_s16le, 48000 Hz, mono, s16, 768 kb/s",
    ];
    expect(parseAll(lines)).toEqual([{ index: 3, size: { width: 160, height: 120 } }]);
  });

  it("nothing without an Output #0 block", () => {
    expect(parseAll(REAL_SAMPLE.filter((l) => !l.startsWith("Output #0")))).toEqual([]);
    expect(parseAll(["frame=   50 fps= 10 q=-0.0 size=    5625kB time=00:00:05.00", ""])).toEqual([]);
  });

  it("an output stream that is not raw video gives no size", () => {
    expect(parseAll(["Output #0, s16le, to 'pipe:1':", "  Stream #0:0: Audio: pcm_s16le, 48000 Hz, mono, s16, 768 kb/s"])).toEqual([]);
  });
});

describe("isMissingAudioError", () => {
  it.each([
    "Stream map '0:a:0' matches no streams.",
    "Stream map '1:a:0' matches no streams.",
    "Output file #1 does not contain any stream",
  ])("recognises %j", (line) => {
    expect(isMissingAudioError(line)).toBe(true);
  });

  it.each([
    "To ignore this, add a trailing '?' to the map.",
    "Stream map '0:v:0' matches no streams.",
    "Connection to tcp://10.0.0.2:554?timeout=5000000 failed: Connection refused",
    "rtsp://***@10.0.0.2/x: Invalid data found when processing input",
    "",
  ])("does not match %j", (line) => {
    expect(isMissingAudioError(line)).toBe(false);
  });
});

/** Runs the real ffmpeg with buildCameraArgs until the size is reported and `frames` frames arrived, then kills it. */
async function runFfmpeg(
  ffmpeg: string,
  options: CameraArgsOptions,
  frames: number,
): Promise<{
  size: { width: number; height: number } | undefined;
  frames: number;
  audioBytes: number;
  stderr: string[];
}> {
  const child = spawn(ffmpeg, buildCameraArgs(options), { stdio: ["ignore", "pipe", "pipe", options.audio ? "pipe" : "ignore"] });
  const { stdout, stderr: stderrStream } = child;
  if (stdout === null || stderrStream === null) throw new Error("ffmpeg was spawned without pipes");
  const stderr: string[] = [];
  const parser = new OutputSizeParser();
  let size: { width: number; height: number } | undefined;
  let splitter: FrameSplitter | undefined;
  let frameCount = 0;
  let audioBytes = 0;
  const pending: Buffer[] = [];

  const done = new Promise<void>((resolve, reject) => {
    const guard = setTimeout(() => {
      reject(new Error(`ffmpeg produced no ${frames} frames in time; stderr:\n${stderr.join("\n")}`));
    }, 8_000);
    const finish = (): void => {
      clearTimeout(guard);
      resolve();
    };
    child.once("error", (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.once("exit", (code, signal) => {
      clearTimeout(guard);
      if (frameCount >= frames) resolve();
      else reject(new Error(`ffmpeg exited (${String(code)}, ${String(signal)}); stderr:\n${stderr.join("\n")}`));
    });

    createInterface({ input: stderrStream }).on("line", (line) => {
      stderr.push(line);
      const found = parser.line(line);
      if (found && !size) {
        size = found;
        splitter = new FrameSplitter(
          (found.width * found.height * 3) / 2,
          () => {
            frameCount++;
            if (frameCount >= frames) finish();
          },
          false,
        );
        for (const chunk of pending.splice(0)) splitter.push(chunk);
      }
    });
    stdout.on("data", (chunk: Buffer) => {
      if (splitter) splitter.push(chunk);
      else pending.push(chunk);
    });
    const audio = child.stdio[3] as Readable | null;
    audio?.on("data", (chunk: Buffer) => {
      audioBytes += chunk.length;
    });
  });

  try {
    await done;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
  }
  return { size, frames: frameCount, audioBytes, stderr };
}

describe("real ffmpeg on the demo source", () => {
  const ffmpeg = resolveFfmpeg();

  it("ffmpeg is available", () => {
    expect("path" in ffmpeg ? ffmpeg.path : ffmpeg.error).toMatch(/ffmpeg/);
    expect("path" in ffmpeg).toBe(true);
  });

  it("accepts the filter graph and outputs; the parser reads the real size; frames and audio flow", { timeout: 10_000 }, async () => {
    if (!("path" in ffmpeg)) throw new Error(ffmpeg.error);
    const result = await runFfmpeg(ffmpeg.path, { url: "demo://", maxWidth: 320, maxHeight: 240, maxFps: 10, audio: true }, 8);
    expect(result.size).toEqual({ width: 320, height: 240 });
    expect(result.frames).toBeGreaterThanOrEqual(8);
    expect(result.audioBytes).toBeGreaterThan(0);
    expect(result.stderr.some((l) => l.startsWith("Output #1, s16le, to 'pipe:3'"))).toBe(true);
    expect(result.stderr.some((l) => /error/i.test(l))).toBe(false);
  });

  it("audio off runs with only pipe:1", { timeout: 10_000 }, async () => {
    if (!("path" in ffmpeg)) throw new Error(ffmpeg.error);
    const result = await runFfmpeg(ffmpeg.path, { url: "demo://", maxWidth: 160, maxHeight: 120, maxFps: 10, audio: false }, 2);
    expect(result.size).toEqual({ width: 160, height: 120 });
    expect(result.frames).toBeGreaterThanOrEqual(2);
    expect(result.stderr.some((l) => l.includes("pipe:3"))).toBe(false);
  });
});
