/**
 * The frame-end proxy (src/media/frame-end-proxy.ts) on real parts: the GStreamer RTSP test camera stamping each
 * frame's capture time, real ffmpeg as the bot runs it (`frontEnd: ffmpeg`). Through the proxy every frame leaves
 * ffmpeg one frame period sooner than when ffmpeg reads the camera itself, every stamp intact; the camera's sound
 * and credentials work as before; an H.265 camera gets its frames ended too, an MJPEG one is passed through as is.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readStamp } from "../../bench/stamp.ts";
import { CameraPipeline } from "../../src/media/camera-pipeline.ts";
import { CameraRun } from "../../src/media/camera-run.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { FrameEndProxy } from "../../src/media/frame-end-proxy.ts";
import { runCommand } from "../../src/media/front-end.ts";
import { createLogger } from "../../src/util/logger.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";
import { gstreamerAvailable, startRtspCamera, type RtspCamera, type RtspCameraOptions } from "../harness/rtsp-camera.ts";
import { waitFor } from "../harness/wait.ts";

const runCameraTests = (await gstreamerAvailable()) || ["true", "1"].includes(process.env["CI"] ?? "");
const log = createLogger({ level: "silent" });
const cameras: RtspCamera[] = [];
const pipelines: CameraPipeline[] = [];
const proxies: FrameEndProxy[] = [];

async function camera(opts: RtspCameraOptions): Promise<RtspCamera> {
  const cam = await startRtspCamera(opts);
  cameras.push(cam);
  return cam;
}

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((p) => p.stop()));
  for (const p of proxies.splice(0)) p.close();
  await Promise.all(cameras.splice(0).map((c) => c.stop()));
  expect(liveFfmpegCount()).toBe(0);
});

/** Capture → raw frame out of ffmpeg (ms) for 20 stamped frames after 5 have passed; every frame must carry a stamp. */
async function latencies(url: string, cameraUrl: string): Promise<number[]> {
  const cam = testCamera({ url: cameraUrl, maxWidth: 640, maxHeight: 360, maxFps: 25, audio: false });
  const run = new CameraRun(
    runCommand("ffmpeg", cam, ffmpegPath(), { audio: false, hwaccel: "none", gstCodec: "h264", ffmpegUrl: url }),
    log,
  );
  const out: number[] = [];
  let frames = 0;
  let misreads = 0;
  run.on("frame", (frame) => {
    const at = Date.now();
    const stamp = readStamp(frame);
    if (stamp === undefined) misreads++;
    else if (++frames > 5 && out.length < 20) out.push(at - stamp.ms);
  });
  run.start();
  try {
    await waitFor("20 stamped frames", () => out.length >= 20, { timeoutMs: 30_000 });
  } finally {
    await run.stop();
  }
  expect(misreads).toBe(0);
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

describe.skipIf(!runCameraTests)("the frame-end proxy", () => {
  it("hands each frame on a frame period sooner than ffmpeg reading the camera itself, every picture intact", async () => {
    // 5 fps: a frame period of 200 ms, far above what a busy machine adds to either path.
    const cam = await camera({ codec: "h264", width: 640, height: 360, fps: 5, stamp: true, audio: "none" });
    const proxy = new FrameEndProxy(cam.url, log);
    proxies.push(proxy);
    await proxy.listening;
    const proxied = proxy.url() ?? "";
    expect(new URL(proxied).hostname).toBe("127.0.0.1");
    const direct = median(await latencies(cam.url, cam.url));
    const through = median(await latencies(proxied, cam.url));
    expect(proxy.last?.delimiters).toBeGreaterThan(20);
    expect(proxy.last?.stopped).toBeUndefined();
    // One frame period (200 ms) less; half of it as the margin.
    expect(through).toBeLessThan(direct - 100);
  });

  it("is what the bot's ffmpeg reads: digest credentials, the camera's sound, frames ended", async () => {
    const cam = await camera({
      codec: "h264",
      width: 320,
      height: 240,
      fps: 25,
      audio: "pcma",
      user: "viewer",
      password: "s3cret pass",
      authMethod: "digest",
    });
    const pipeline = new CameraPipeline(
      testCamera({ url: cam.url, maxFps: 25, audio: true, frontEnd: "ffmpeg" }),
      { full: ffmpegPath() },
      log,
    );
    pipelines.push(pipeline);
    let audible = 0;
    const tap = pipeline.tap({
      video: () => undefined,
      audio: (chunk) => {
        // The test camera sends a steady tone (amplitude ~6500); silence is next to nothing.
        if (chunk.samples.some((v) => Math.abs(v) > 1000)) audible++;
      },
    });
    await pipeline.prepared();
    pipeline.start();
    await waitFor("video flowing with the camera's sound", () => pipeline.stats().framesIn >= 25 && audible >= 10, { timeoutMs: 20_000 });
    tap.stop();
    expect(pipeline.stats()).toMatchObject({ state: "running", frontEnd: "ffmpeg", restarts: 0, audio: true });
    expect(pipeline.stats().frameEnds).toBeGreaterThan(10);
  });

  it("leaves a camera with B-frames as ffmpeg would read it: every picture intact, no frame ended early", async () => {
    const cam = await camera({ codec: "h264", profile: "main", bframes: 2, width: 640, height: 360, fps: 25, stamp: true, audio: "none" });
    const proxy = new FrameEndProxy(cam.url, log);
    proxies.push(proxy);
    await proxy.listening;
    const seen = await latencies(proxy.url() ?? "", cam.url);
    expect(seen.length).toBe(20);
    expect(proxy.last?.stopped).toMatch(/capture order/);
    expect(proxy.last?.delimiters).toBeLessThan(3);
    // The camera's next session starts stopped: not one delimiter more.
    expect(await latencies(proxy.url() ?? "", cam.url)).toHaveLength(20);
    expect(proxy.last).toMatchObject({ delimiters: 0, stopped: expect.stringMatching(/capture order/) as unknown });
  });

  /** An RTSP server that answers every request with 20 kB of headers (the splitter's limit is 16 kB). */
  function oversized(socket: Socket, chunk: Buffer): void {
    const cseq = /\r\ncseq:\s*(\d+)/i.exec(chunk.toString("latin1"))?.[1] ?? "1";
    socket.write(`RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\n`);
  }

  async function listen(server: Server): Promise<number> {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  }

  function loggedTo(lines: string[]): ReturnType<typeof createLogger> {
    return createLogger({
      level: "info",
      destination: { write: (l: string) => lines.push((JSON.parse(l) as { msg?: string }).msg ?? "") },
    });
  }

  it("a camera answering with more headers than RTSP allows, both ways: the proxy is tried again after a direct run", async () => {
    const requests: string[] = [];
    const server = createServer((socket) => {
      socket.on("data", (chunk: Buffer) => {
        requests.push(chunk.toString("latin1").split("\r\n", 1)[0] ?? "");
        oversized(socket, chunk);
      });
      socket.on("error", () => undefined);
    });
    const port = await listen(server);
    try {
      const lines: string[] = [];
      const direct = `rtsp://127.0.0.1:${String(port)}/cam`;
      const pipeline = new CameraPipeline(testCamera({ url: direct, frontEnd: "ffmpeg" }), { full: ffmpegPath() }, loggedTo(lines));
      pipelines.push(pipeline);
      await pipeline.prepared();
      pipeline.start();
      const through = (r: string): boolean => !r.includes(direct);
      await waitFor(
        "through the proxy, then straight from ffmpeg, then through the proxy again",
        () => {
          const first = requests.findIndex(through);
          const straight = requests.findIndex((r, i) => i > first && !through(r));
          return first >= 0 && straight > first && requests.some((r, i) => i > straight && through(r));
        },
        { timeoutMs: 30_000 },
      );
      expect(lines).toContain("ffmpeg read nothing through the frame-end proxy: reading the camera directly");
      expect(lines).not.toContain("the camera shows frames read directly: the frame-end proxy stays off for it");
    } finally {
      server.close();
    }
  });

  it("a camera that fails through the proxy and shows frames directly: read directly from then on", async () => {
    const cam = await camera({ codec: "h264", width: 320, height: 240, fps: 25, audio: "none" });
    const target = new URL(cam.url);
    // In front of the real camera: requests naming this port come straight from ffmpeg and are passed on; any
    // other (through the proxy, naming its port) gets an answer the proxy must break off.
    let proxiedSessions = 0;
    let port = 0;
    const server = createServer((socket) => {
      socket.once("data", (first: Buffer) => {
        if (first.toString("latin1").includes(`:${String(port)}/`)) {
          const upstream = connect({ host: target.hostname, port: Number(target.port) });
          upstream.write(first);
          socket.pipe(upstream).pipe(socket);
          upstream.on("error", () => socket.destroy());
        } else {
          proxiedSessions++;
          oversized(socket, first);
        }
      });
      socket.on("error", () => undefined);
    });
    port = await listen(server);
    try {
      const lines: string[] = [];
      const url = `rtsp://127.0.0.1:${String(port)}${target.pathname}`;
      const pipeline = new CameraPipeline(testCamera({ url, maxFps: 25, frontEnd: "ffmpeg" }), { full: ffmpegPath() }, loggedTo(lines));
      pipelines.push(pipeline);
      await pipeline.prepared();
      pipeline.start();
      await waitFor("25 frames read directly", () => pipeline.stats().framesIn >= 25, { timeoutMs: 30_000 });
      expect(lines).toContain("the camera shows frames read directly: the frame-end proxy stays off for it");
      expect(proxiedSessions).toBe(1);
      expect(pipeline.stats().frameEnds).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it.each([
    ["h265", true],
    ["mjpeg", false],
  ] as const)("a %s camera through the proxy: frames flow, ended early: %s", async (codec, ended) => {
    const cam = await camera({ codec, width: 320, height: 240, fps: 25, audio: "none" });
    const pipeline = new CameraPipeline(testCamera({ url: cam.url, maxFps: 25, frontEnd: "ffmpeg" }), { full: ffmpegPath() }, log);
    pipelines.push(pipeline);
    await pipeline.prepared();
    pipeline.start();
    await waitFor("25 frames", () => pipeline.stats().framesIn >= 25, { timeoutMs: 30_000 });
    expect(pipeline.stats()).toMatchObject({ state: "running", frontEnd: "ffmpeg", restarts: 0 });
    // Defined: ffmpeg read the camera through the proxy (undefined would be a direct read).
    const ends = pipeline.stats().frameEnds;
    if (ended) expect(ends).toBeGreaterThan(10);
    else expect(ends).toBe(0);
  });
});
