/**
 * A real RTSP IP camera for tests: spawns test/harness/rtsp_camera.py (GStreamer's RTSP server, run with the
 * system Python that has the `gi` bindings) and follows the JSON lines it prints on stdout.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { harnessLog } from "./log.ts";
import { withoutLauncherEnv } from "./rig-env.ts";
import { waitFor } from "./wait.ts";

export interface RtspCameraOptions {
  width?: number;
  height?: number;
  fps?: number;
  codec?: "h264" | "h265" | "mjpeg";
  audio?: "pcma" | "aac" | "none";
  /** videotestsrc pattern nick: smpte (default), ball, snow, black, white, red, green, blue, … */
  pattern?: string;
  /** Mount path without the leading slash; default "cam". */
  path?: string;
  user?: string;
  password?: string;
  /** How the camera asks for credentials when `user` is set; default "digest" (what most IP cameras do). */
  authMethod?: "basic" | "digest";
  /** H.264 profile; default "baseline". */
  profile?: "baseline" | "main";
  /** An ONVIF backchannel in this codec (the server becomes an ONVIF one, unshared); default none. */
  backchannel?: "none" | "pcmu" | "pcma";
  /** Where the backchannel's decoded audio is appended (see readBackchannel). */
  backchannelFile?: string;
  /** Write each frame's capture time into it (test/harness/camera_stamp.py; read by bench/stamp.ts); default false. */
  stamp?: boolean;
  /** videotestsrc horizontal-speed: a moving picture keeps the encoder as busy as a real scene; default 0. */
  speed?: number;
  /** Video bitrate, kbit/s (H.264/H.265); default 1500. */
  bitrate?: number;
  /** H.264 B-frames between references (needs profile main): frames sent out of capture order; default 0. */
  bframes?: number;
  /** TCP port to listen on; default 0 (a free one). */
  port?: number;
}

/** One buffer the camera's backchannel received: when (Date.now() scale) and its 8 kHz samples. */
export interface BackchannelRecord {
  at: number;
  samples: Int16Array;
}

/** Reads the records rtsp_camera.py appended to a backchannel file (none when it does not exist). */
export function readBackchannel(file: string): BackchannelRecord[] {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return [];
  }
  const out: BackchannelRecord[] = [];
  for (let at = 0; at + 12 <= buf.length;) {
    const time = buf.readDoubleLE(at);
    const length = buf.readUInt32LE(at + 8);
    if (at + 12 + length > buf.length) break;
    const samples = new Int16Array(length / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(at + 12 + i * 2);
    out.push({ at: time * 1000, samples });
    at += 12 + length;
  }
  return out;
}

export interface RtspCamera {
  /** rtsp://127.0.0.1:PORT/PATH, with user:pass@ (percent-encoded) if credentials are set. */
  url: string;
  urlWithoutCredentials: string;
  port: number;
  /**
   * RTSP sessions clients opened since startRtspCamera(), counted across restart()s: the server's sessions
   * created by a SETUP (GstRTSPClient "new-session"). ffmpeg/ffprobe SETUP all streams in one session, so one
   * per client run; a client refused with 401, or one that only sends OPTIONS/DESCRIBE, opens none. A shared
   * media factory still gives every client its own session (see mediaConstructed() for the pipelines).
   */
  sessionsOpened(): number;
  /** RTSP (TCP) clients connected right now. */
  clientsConnected(): number;
  /** Pipelines the server built since start (with the shared factory: one for concurrent clients). */
  mediaConstructed(): number;
  /** ONVIF backchannel sessions that received audio so far (across restarts). */
  backchannelsLinked(): number;
  /** The server process's pid now (it changes with restart()), for CPU figures. */
  pid(): number | undefined;
  /** Kills the server (SIGTERM, then SIGKILL after 3 s); resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and path (a camera reboot). */
  restart(): Promise<void>;
}

/** The Python interpreter with GStreamer's GObject bindings: the system one, not a pyenv/venv one. */
const PYTHON = process.env["GST_PYTHON"] ?? "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./rtsp_camera.py", import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 3_000;

const running = new Set<ChildProcess>();

/** Camera server processes started by this module that have not exited yet (for "nothing left behind" checks). */
export function runningRtspCameraProcesses(): number {
  return running.size;
}

type CameraEvent =
  | { event: "ready"; port: number; path: string }
  | { event: "client-connected"; connected: number }
  | { event: "client-closed"; connected: number }
  | { event: "session"; count: number }
  | { event: "media-constructed"; count: number }
  | { event: "backchannel"; state: string }
  | { event: "stats"; stamped: number; unstamped: number }
  | { event: "error"; message: string };

interface Incarnation {
  child: ChildProcess;
  exited: Promise<void>;
  hasExited: () => boolean;
}

type CameraArgs = Required<Omit<RtspCameraOptions, "user" | "password" | "backchannelFile" | "port">> & { backchannelFile: string };

function pythonArgs(o: CameraArgs, port: number): string[] {
  return [
    SCRIPT,
    "--port",
    String(port),
    "--path",
    o.path,
    "--width",
    String(o.width),
    "--height",
    String(o.height),
    "--fps",
    String(o.fps),
    "--codec",
    o.codec,
    "--profile",
    o.profile,
    "--audio",
    o.audio,
    "--pattern",
    o.pattern,
    "--auth",
    o.authMethod,
    "--backchannel",
    o.backchannel,
    "--backchannel-file",
    o.backchannelFile,
    "--speed",
    String(o.speed),
    "--bitrate",
    String(o.bitrate),
    "--bframes",
    String(o.bframes),
    ...(o.stamp ? ["--stamp"] : []),
  ];
}

export async function startRtspCamera(opts: RtspCameraOptions = {}): Promise<RtspCamera> {
  const o = {
    width: opts.width ?? 1280,
    height: opts.height ?? 720,
    fps: opts.fps ?? 25,
    codec: opts.codec ?? "h264",
    audio: opts.audio ?? "pcma",
    pattern: opts.pattern ?? "smpte",
    path: (opts.path ?? "cam").replace(/^\/+/, ""),
    authMethod: opts.authMethod ?? "digest",
    profile: opts.profile ?? "baseline",
    backchannel: opts.backchannel ?? "none",
    backchannelFile: opts.backchannelFile ?? "",
    stamp: opts.stamp ?? false,
    speed: opts.speed ?? 0,
    bitrate: opts.bitrate ?? 1500,
    bframes: opts.bframes ?? 0,
  } satisfies CameraArgs;
  if (opts.password !== undefined && opts.user === undefined) throw new Error("RTSP camera: password without user");

  let sessions = 0;
  let connected = 0;
  let media = 0;
  let backchannels = 0;
  let current: Incarnation | undefined;
  let port = 0;

  // Credentials go to the child through its environment so they never appear in argv (`ps`) or our logs.
  const env: NodeJS.ProcessEnv = withoutLauncherEnv();
  delete env["RTSP_CAMERA_USER"];
  delete env["RTSP_CAMERA_PASSWORD"];
  if (opts.user !== undefined) {
    env["RTSP_CAMERA_USER"] = opts.user;
    env["RTSP_CAMERA_PASSWORD"] = opts.password ?? "";
  }

  const launch = (wantedPort: number): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(PYTHON, pythonArgs(o, wantedPort), { env, stdio: ["pipe", "pipe", "pipe"] });
      running.add(child);
      let exitedFlag = false;
      let ready = false;
      const stderrTail: string[] = [];
      const exited = new Promise<void>((resolveExit) => {
        // "close", not "exit": by then every stdout line has been handled.
        child.once("close", (code, signal) => {
          exitedFlag = true;
          running.delete(child);
          connected = 0;
          harnessLog.debug({ code, signal, pid: child.pid }, "rtsp camera exited");
          if (!ready) {
            clearTimeout(timer);
            reject(new Error(`RTSP camera exited before it was ready (code ${code}, signal ${signal}): ${stderrTail.join(" | ")}`));
          }
          resolveExit();
        });
      });
      const timer = setTimeout(() => {
        if (ready) return;
        child.kill("SIGKILL");
        reject(new Error(`RTSP camera not ready after ${READY_TIMEOUT_MS} ms: ${stderrTail.join(" | ")}`));
      }, READY_TIMEOUT_MS);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      current = { child, exited, hasExited: () => exitedFlag };

      createInterface({ input: child.stderr }).on("line", (line) => {
        stderrTail.push(line);
        if (stderrTail.length > 10) stderrTail.shift();
        harnessLog.debug({ pid: child.pid }, `rtsp camera: ${line}`);
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        let ev: CameraEvent;
        try {
          ev = JSON.parse(line) as CameraEvent;
        } catch {
          harnessLog.warn({ line }, "rtsp camera: unparsable stdout line");
          return;
        }
        harnessLog.debug({ pid: child.pid, ev }, "rtsp camera event");
        switch (ev.event) {
          case "ready":
            ready = true;
            clearTimeout(timer);
            resolve(ev.port);
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
          case "backchannel":
            backchannels += 1;
            break;
          case "error":
            stderrTail.push(ev.message);
            break;
          case "stats":
            break;
        }
      });
    });

  const stopCurrent = async (): Promise<void> => {
    const inc = current;
    if (!inc || inc.hasExited()) return;
    inc.child.kill("SIGTERM");
    const hard = setTimeout(() => inc.child.kill("SIGKILL"), KILL_GRACE_MS);
    await inc.exited;
    clearTimeout(hard);
  };

  port = await launch(opts.port ?? 0);
  const userinfo = opts.user !== undefined ? `${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password ?? "")}@` : "";
  const camera: RtspCamera = {
    url: `rtsp://${userinfo}127.0.0.1:${port}/${o.path}`,
    urlWithoutCredentials: `rtsp://127.0.0.1:${port}/${o.path}`,
    port,
    sessionsOpened: () => sessions,
    clientsConnected: () => connected,
    mediaConstructed: () => media,
    backchannelsLinked: () => backchannels,
    pid: () => (current === undefined || current.hasExited() ? undefined : current.child.pid),
    stop: stopCurrent,
    restart: async () => {
      await stopCurrent();
      // The port was just released; retry briefly in case the kernel has not let go of it yet.
      await waitFor(
        `RTSP camera to listen again on port ${port}`,
        async () => {
          try {
            return (await launch(port)) === port;
          } catch (err: unknown) {
            harnessLog.debug({ err }, "rtsp camera restart attempt failed");
            return false;
          }
        },
        { timeoutMs: 15_000, intervalMs: 250 },
      );
    },
  };
  return camera;
}

let gstCheck: Promise<boolean> | undefined;

/** Whether the system Python can run the camera (gi, GstRtspServer and the H.264 elements). Cached. */
export function gstreamerAvailable(): Promise<boolean> {
  gstCheck ??= new Promise<boolean>((resolve) => {
    const probe = [
      "import gi",
      "gi.require_version('Gst', '1.0')",
      "gi.require_version('GstRtspServer', '1.0')",
      "from gi.repository import Gst, GstRtspServer",
      "Gst.init(None)",
      "missing = [e for e in ('videotestsrc', 'x264enc', 'rtph264pay', 'alawenc', 'rtppcmapay') if Gst.ElementFactory.find(e) is None]",
      "raise SystemExit(1 if missing else 0)",
    ].join("\n");
    const child = spawn(PYTHON, ["-c", probe], { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
  return gstCheck;
}
