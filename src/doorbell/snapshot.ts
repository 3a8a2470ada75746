/**
 * A JPEG still of a camera: one short ffmpeg run (the pipeline's low-latency input flags, one frame,
 * MJPEG to stdout) with a bounded time and size, owned by FfmpegProcess and ended if it overruns.
 */
import type { CameraConfig } from "../config/load.ts";
import { inputArgs } from "../media/ffmpeg-args.ts";
import { FfmpegProcess } from "../media/ffmpeg-process.ts";
import type { Logger } from "../util/logger.ts";
import { LogOnce } from "./log-once.ts";

export interface JpegSize {
  width: number;
  height: number;
}

/** Width and height from a JPEG's start-of-frame marker; undefined when the data is not a JPEG. */
export function jpegSize(data: Uint8Array): JpegSize | undefined {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) return undefined;
  let i = 2;
  // Bounded: every step moves forward by at least two bytes.
  while (i + 3 < data.length) {
    if (data[i] !== 0xff) return undefined;
    const marker = data[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image or scan data before any frame header
    const length = ((data[i + 2] ?? 0) << 8) | (data[i + 3] ?? 0);
    if (length < 2) return undefined;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 8 >= data.length) return undefined;
      const height = ((data[i + 5] ?? 0) << 8) | (data[i + 6] ?? 0);
      const width = ((data[i + 7] ?? 0) << 8) | (data[i + 8] ?? 0);
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    i += 2 + length;
  }
  return undefined;
}

/** The ffmpeg arguments of a snapshot: the camera's input options, the first video frame, JPEG on stdout. */
export function snapshotArgs(camera: Pick<CameraConfig, "url" | "maxWidth" | "maxHeight" | "maxFps">): string[] {
  const input = inputArgs(camera.url, { width: camera.maxWidth, height: camera.maxHeight, fps: camera.maxFps });
  return [
    "-hide_banner",
    "-loglevel",
    "error",
    ...input.args,
    "-map",
    "0:v:0",
    "-an",
    "-frames:v",
    "1",
    "-f",
    "image2",
    "-c:v",
    "mjpeg",
    "-q:v",
    "3",
    "pipe:1",
  ];
}

export interface SnapshotOptions {
  timeoutMs?: number;
  maxBytes?: number;
}

/**
 * Snapshot processes at once, all cameras together. Each is one ffmpeg decoding a camera's stream for up to 10 s; a
 * home has a few doorbells, and a flood of presses must not become a flood of processes.
 */
export const MAX_SNAPSHOTS_IN_FLIGHT = 4;

export class Snapshotter {
  private readonly running = new Set<FfmpegProcess>();
  /** Per camera, the snapshot being taken: presses that come while it runs share it. */
  private readonly inFlight = new Map<string, Promise<Buffer | undefined>>();
  private readonly logOnce: LogOnce;
  private stopped = false;

  constructor(
    private readonly ffmpegPath: string,
    private readonly log: Logger,
    private readonly opts: SnapshotOptions = {},
  ) {
    this.logOnce = new LogOnce(log);
  }

  /**
   * The JPEG, or undefined (logged) when the camera gave none in time. One ffmpeg per camera at a time (a second
   * press while it runs gets the same picture), and at most MAX_SNAPSHOTS_IN_FLIGHT for all cameras: past that,
   * a round goes without a picture.
   */
  take(camera: CameraConfig): Promise<Buffer | undefined> {
    if (this.stopped) return Promise.resolve(undefined);
    const running = this.inFlight.get(camera.name);
    if (running !== undefined) return running;
    if (this.inFlight.size >= MAX_SNAPSHOTS_IN_FLIGHT) {
      this.logOnce.warn("busy", { camera: camera.name, inFlight: this.inFlight.size }, "no snapshot: too many snapshots being taken");
      return Promise.resolve(undefined);
    }
    const taking = this.run(camera).finally(() => this.inFlight.delete(camera.name));
    this.inFlight.set(camera.name, taking);
    return taking;
  }

  private async run(camera: CameraConfig): Promise<Buffer | undefined> {
    const log = this.log.child({ camera: camera.name });
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const maxBytes = this.opts.maxBytes ?? 16 * 1024 * 1024;
    const proc = new FfmpegProcess(this.ffmpegPath, snapshotArgs(camera), log, 0);
    this.running.add(proc);
    const started = Date.now();
    try {
      const { video } = proc.start();
      const chunks: Buffer[] = [];
      let size = 0;
      const over = { tooLarge: false };
      const output = new Promise<void>((resolve) => {
        video.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            over.tooLarge = true;
            void proc.stop(200);
            return;
          }
          chunks.push(chunk);
        });
        video.once("close", resolve);
        video.once("error", () => {
          resolve();
        });
      });
      const exited = new Promise<number | null>((resolve) =>
        proc.once("exit", (exit) => {
          resolve(exit.code);
        }),
      );
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => {
          resolve("timeout");
        }, timeoutMs);
      });
      const result = await Promise.race([Promise.all([output, exited]), timedOut]);
      clearTimeout(timer);
      if (result === "timeout") {
        log.warn({ timeoutMs }, "no snapshot: the camera gave no picture in time");
        return undefined;
      }
      const code = result[1];
      const jpeg = Buffer.concat(chunks);
      if (over.tooLarge || code !== 0 || jpeg.length === 0) {
        log.warn({ code, bytes: size, tooLarge: over.tooLarge }, "no snapshot: ffmpeg gave no picture");
        return undefined;
      }
      log.debug({ bytes: jpeg.length, ms: Date.now() - started }, "snapshot taken");
      return jpeg;
    } finally {
      await stopBounded(proc);
      this.running.delete(proc);
    }
  }

  /** Ends every snapshot still running (shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running].map(stopBounded));
  }
}

/** q, TERM, KILL within about 0.6 s; bounded even for a process that never started (spawn error). */
async function stopBounded(proc: FfmpegProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([proc.stop(200), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]);
  clearTimeout(timer);
}
