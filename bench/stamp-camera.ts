/** Starts bench/stamp_camera.py (GStreamer RTSP server whose frames carry their capture time) and follows its events. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const PYTHON = process.env["GST_PYTHON"] ?? "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./stamp_camera.py", import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 3_000;

export interface StampCameraOptions {
  width: number;
  height: number;
  fps: number;
  /** TCP port; 0 picks a free one. */
  port?: number;
  path?: string;
  /** Video codec sent (default h264). */
  codec?: "h264" | "h265" | "mjpeg";
}

export interface StampCamera {
  url: string;
  port: number;
  pid: number;
  width: number;
  height: number;
  fps: number;
  /** RTSP sessions opened by clients (SETUP), since start. */
  sessionsOpened(): number;
  clientsConnected(): number;
  /** Pipelines built (a shared factory builds one for concurrent clients). */
  mediaConstructed(): number;
  stop(): Promise<void>;
}

type CameraEvent =
  | { event: "ready"; port: number; path: string }
  | { event: "client-connected"; connected: number }
  | { event: "client-closed"; connected: number }
  | { event: "session"; count: number }
  | { event: "media-constructed"; count: number }
  | { event: "stats"; stamped: number; unstamped: number; sessions: number }
  | { event: "error"; message: string };

/** Every camera process still running, killed if the benchmark exits without stopping it. */
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export function startStampCamera(opts: StampCameraOptions): Promise<StampCamera> {
  const path = opts.path ?? "cam";
  const args = [SCRIPT, "--port", String(opts.port ?? 0), "--path", path, "--width", String(opts.width), "--height", String(opts.height), "--fps", String(opts.fps), "--codec", opts.codec ?? "h264"];
  const child = spawn(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  let sessions = 0;
  let connected = 0;
  let media = 0;
  const stderrTail: string[] = [];
  let exitedFlag = false;
  const exited = new Promise<void>((resolve) => {
    child.once("close", () => {
      exitedFlag = true;
      running.delete(child);
      resolve();
    });
  });
  const stop = async (): Promise<void> => {
    if (exitedFlag) return;
    child.kill("SIGTERM");
    const hard = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS);
    await exited;
    clearTimeout(hard);
  };
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 10) stderrTail.shift();
  });
  return new Promise<StampCamera>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`stamp camera not ready after ${READY_TIMEOUT_MS} ms: ${stderrTail.join(" | ")}`));
    }, READY_TIMEOUT_MS);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`stamp camera exited: ${stderrTail.join(" | ")}`));
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      let ev: CameraEvent;
      try {
        ev = JSON.parse(line) as CameraEvent;
      } catch {
        return;
      }
      switch (ev.event) {
        case "ready":
          clearTimeout(timer);
          resolve({
            url: `rtsp://127.0.0.1:${ev.port}/${path}`,
            port: ev.port,
            pid: child.pid ?? -1,
            width: opts.width,
            height: opts.height,
            fps: opts.fps,
            sessionsOpened: () => sessions,
            clientsConnected: () => connected,
            mediaConstructed: () => media,
            stop,
          });
          break;
        case "client-connected":
        case "client-closed":
          connected = ev.connected;
          break;
        case "session":
          sessions += 1;
          break;
        case "media-constructed":
          media += 1;
          break;
        case "error":
          stderrTail.push(ev.message);
          break;
        case "stats":
          break;
      }
    });
  });
}
