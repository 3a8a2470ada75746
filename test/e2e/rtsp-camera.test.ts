/**
 * The test RTSP camera behaves like an IP camera as far as real ffmpeg/ffprobe can tell.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { gstreamerAvailable, runningRtspCameraProcesses, startRtspCamera, type RtspCamera } from "../harness/rtsp-camera.ts";
import { waitFor } from "../harness/wait.ts";
import { readStamp } from "../../bench/stamp.ts";

// Skipped where GStreamer is missing, except in CI (CI=true), where .ci/run installs it and a skip would hide a gap.
const runCameraTests = (await gstreamerAvailable()) || ["true", "1"].includes(process.env["CI"] ?? "");

const tools = new Set<ChildProcess>();
const cameras: RtspCamera[] = [];

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command, SIGKILLing it after `timeoutMs`. */
function run(cmd: string, args: string[], timeoutMs = 30_000): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  tools.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<RunResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      tools.delete(child);
      reject(err);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      tools.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, done };
}

interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  r_frame_rate?: string;
}

async function probe(url: string): Promise<ProbedStream[]> {
  const { done } = run("ffprobe", ["-v", "error", "-rtsp_transport", "tcp", "-timeout", "10000000", "-show_streams", "-of", "json", url]);
  const r = await done;
  if (r.code !== 0) throw new Error(`ffprobe exited ${r.code}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { streams: ProbedStream[] }).streams;
}

/** Decodes `frames` video frames with ffmpeg; resolves with ffmpeg's result. */
function decode(url: string, frames: number, timeoutMs = 30_000): Promise<RunResult> {
  return run(
    "ffmpeg",
    [
      "-nostdin",
      "-v",
      "error",
      "-rtsp_transport",
      "tcp",
      "-timeout",
      "10000000",
      "-i",
      url,
      "-frames:v",
      String(frames),
      "-f",
      "null",
      "-",
    ],
    timeoutMs,
  ).done;
}

async function camera(opts: Parameters<typeof startRtspCamera>[0]): Promise<RtspCamera> {
  const cam = await startRtspCamera(opts);
  cameras.push(cam);
  return cam;
}

describe.skipIf(!runCameraTests)("test RTSP camera (GStreamer)", () => {
  beforeAll(() => {
    expect(runningRtspCameraProcesses()).toBe(0);
  });

  afterEach(async () => {
    await Promise.all(cameras.splice(0).map((c) => c.stop()));
  });

  afterAll(async () => {
    await Promise.all(cameras.splice(0).map((c) => c.stop()));
    for (const t of tools) t.kill("SIGKILL");
    await waitFor("ffmpeg/ffprobe children to exit", () => tools.size === 0, { timeoutMs: 5_000 });
    expect(runningRtspCameraProcesses()).toBe(0);
  });

  it("serves 1280x720 H.264 with G.711 A-law audio by default", { timeout: 60_000 }, async () => {
    const cam = await camera({});
    expect(cam.url).toBe(`rtsp://127.0.0.1:${cam.port}/cam`);
    expect(cam.urlWithoutCredentials).toBe(cam.url);
    const streams = await probe(cam.url);
    const video = streams.find((s) => s.codec_type === "video");
    const audio = streams.find((s) => s.codec_type === "audio");
    expect(video).toMatchObject({ codec_name: "h264", width: 1280, height: 720, r_frame_rate: "25/1" });
    expect(audio).toMatchObject({ codec_name: "pcm_alaw", sample_rate: "8000", channels: 1 });
    expect(cam.sessionsOpened()).toBe(1);
  });

  it("serves H.264 with AAC audio at a configured size and frame rate", { timeout: 60_000 }, async () => {
    const cam = await camera({ width: 640, height: 360, fps: 15, audio: "aac", pattern: "ball", path: "stream1" });
    expect(cam.url).toMatch(/\/stream1$/);
    const streams = await probe(cam.url);
    expect(streams.find((s) => s.codec_type === "video")).toMatchObject({
      codec_name: "h264",
      width: 640,
      height: 360,
      r_frame_rate: "15/1",
    });
    expect(streams.find((s) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
  });

  it("serves video only when audio is none", { timeout: 60_000 }, async () => {
    const cam = await camera({ width: 320, height: 240, audio: "none", pattern: "red" });
    const streams = await probe(cam.url);
    expect(streams.map((s) => s.codec_type)).toEqual(["video"]);
  });

  it("serves H.265 that ffmpeg decodes", { timeout: 60_000 }, async () => {
    const cam = await camera({ codec: "h265", width: 320, height: 240, fps: 10, audio: "none" });
    const streams = await probe(cam.url);
    expect(streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "hevc", width: 320, height: 240 });
    const r = await decode(cam.url, 10);
    expect(r.code, r.stderr).toBe(0);
  });

  it("serves MJPEG that ffmpeg decodes", { timeout: 60_000 }, async () => {
    const cam = await camera({ codec: "mjpeg", width: 320, height: 240, fps: 10 });
    const streams = await probe(cam.url);
    expect(streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "mjpeg", width: 320, height: 240 });
    const r = await decode(cam.url, 10);
    expect(r.code, r.stderr).toBe(0);
  });

  for (const authMethod of ["digest", "basic"] as const) {
    it(`with ${authMethod} auth refuses clients without credentials and plays with them`, { timeout: 60_000 }, async () => {
      const password = "p@ss:w/rd%1";
      const cam = await camera({ width: 320, height: 240, user: "admin", password, authMethod });
      expect(cam.url).toBe(`rtsp://admin:${encodeURIComponent(password)}@127.0.0.1:${cam.port}/cam`);
      expect(cam.urlWithoutCredentials).toBe(`rtsp://127.0.0.1:${cam.port}/cam`);

      await expect(probe(cam.urlWithoutCredentials)).rejects.toThrow(/401/);
      await expect(probe(`rtsp://admin:wrong@127.0.0.1:${cam.port}/cam`)).rejects.toThrow(/401/);
      expect(cam.sessionsOpened()).toBe(0);

      const streams = await probe(cam.url);
      expect(streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "h264" });
      expect(cam.sessionsOpened()).toBe(1);
    });
  }

  it("gives each concurrent client its own RTSP session from one shared pipeline", { timeout: 60_000 }, async () => {
    const cam = await camera({ width: 320, height: 240, fps: 10 });
    // Two long-running readers, as two bots (or a bot and a NVR) watching the same camera.
    const a = decode(cam.url, 100_000, 60_000);
    const b = decode(cam.url, 100_000, 60_000);
    await waitFor("two RTSP sessions", () => cam.sessionsOpened() === 2 && cam.clientsConnected() === 2, {
      timeoutMs: 20_000,
    });
    expect(cam.mediaConstructed()).toBe(1);
    for (const t of tools) t.kill("SIGTERM");
    await Promise.all([a, b]);
    await waitFor("both clients to disconnect", () => cam.clientsConnected() === 0, { timeoutMs: 10_000 });
    expect(cam.sessionsOpened()).toBe(2);
  });

  it("with stamp: true every frame carries its capture time (the bench's latency figures)", { timeout: 60_000 }, async () => {
    const [width, height] = [320, 240];
    const cam = await camera({ width, height, fps: 10, audio: "none", stamp: true, speed: 2 });
    const frameBytes = (width * height * 3) / 2;
    const started = Date.now();
    const child = spawn(
      "ffmpeg",
      ["-v", "error", "-rtsp_transport", "tcp", "-i", cam.url, "-frames:v", "10", "-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    tools.add(child);
    const chunks: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(timer);
    tools.delete(child);
    expect(code).toBe(0);
    const raw = Buffer.concat(chunks);
    expect(raw.length).toBe(10 * frameBytes);
    const stamps = Array.from({ length: 10 }, (_, i) =>
      readStamp({ width, height, data: raw.subarray(i * frameBytes, (i + 1) * frameBytes) }),
    );
    for (const st of stamps) {
      expect(st, "every frame's stamp reads back (markers and CRC)").toBeDefined();
      expect(st?.ms ?? 0).toBeGreaterThan(started - 10_000);
      expect(st?.ms ?? 0).toBeLessThanOrEqual(Date.now());
    }
    const seqs = stamps.map((st) => st?.seq ?? -1);
    expect(
      seqs.slice(1).every((q, i) => q === (seqs[i] ?? 0) + 1),
      `consecutive sequence numbers ${seqs.join(",")}`,
    ).toBe(true);
  });

  it("restarts on the same port and path, like a rebooting camera", { timeout: 90_000 }, async () => {
    const cam = await camera({ width: 320, height: 240, fps: 10, audio: "none" });
    const before = cam.url;
    expect((await probe(cam.url)).length).toBe(1);

    // A client that is playing when the camera goes away sees the stream end.
    const watcher = decode(cam.url, 100_000, 60_000);
    // Wait for its RTSP session (SETUP), not just its TCP connection, so the count below is deterministic.
    await waitFor("watcher session", () => cam.sessionsOpened() === 2 && cam.clientsConnected() === 1, {
      timeoutMs: 20_000,
    });
    await cam.stop();
    await cam.stop(); // idempotent
    expect(runningRtspCameraProcesses()).toBe(0);
    await watcher;
    await expect(probe(cam.url)).rejects.toThrow(/Connection refused/);

    await cam.restart();
    expect(cam.url).toBe(before);
    expect(runningRtspCameraProcesses()).toBe(1);
    expect((await probe(cam.url)).length).toBe(1);
    // Counted across restarts: the first probe, the watcher, the probe after the restart.
    expect(cam.sessionsOpened()).toBe(3);
  });
});
