/**
 * The bench's cameras: test/harness/rtsp_camera.py with --stamp (every frame carries its capture time), one per
 * (resolution, index), on ports chosen up front so the bot's config can list every camera before any is started.
 * Each running camera has a *keeper*: a real IP camera streams all the time, so one client that only copies keeps
 * the shared pipeline playing, and a new client joins mid-GOP (GOP 1 s here) as it would on a camera, not on a freshly
 * started encoder that begins with a keyframe. The keepers' CPU is counted with the cameras', never the bot's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { startRtspCamera, type RtspCamera } from "../../test/harness/rtsp-camera.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { FPS, type Resolution } from "../plan.ts";

interface Running {
  cam: RtspCamera;
  keeper: ChildProcess;
  /** sessionsOpened() when the current scenario began (markSessions). */
  sessionsBase: number;
}

export function cameraName(res: Resolution, i: number): string {
  return `c${res.height}-${i}`;
}

export class CameraSet {
  private readonly running = new Map<string, Running>();
  private readonly keeperPids = new Set<number>();

  constructor(
    private readonly ffmpegPath: () => string,
    /** name → port and size, for every camera the bot's config lists. */
    private readonly ports: ReadonlyMap<string, { port: number; res: Resolution }>,
  ) {}

  get(name: string): RtspCamera | undefined {
    return this.running.get(name)?.cam;
  }

  names(): string[] {
    return [...this.running.keys()];
  }

  /** Starts the camera and its keeper (no-op when running); resolves once the keeper's RTSP session is open. */
  async start(name: string): Promise<RtspCamera> {
    const have = this.running.get(name);
    if (have) return have.cam;
    const spec = this.ports.get(name);
    if (spec === undefined) throw new Error(`no port for camera ${name}`);
    const cam = await startRtspCamera({
      width: spec.res.width,
      height: spec.res.height,
      fps: FPS,
      stamp: true,
      speed: 2,
      bitrate: 2500,
      port: spec.port,
    });
    const keeper = spawn(
      this.ffmpegPath(),
      ["-hide_banner", "-loglevel", "quiet", "-rtsp_transport", "tcp", "-i", cam.url, "-map", "0", "-c", "copy", "-f", "null", "-"],
      { stdio: "ignore" },
    );
    if (keeper.pid !== undefined) this.keeperPids.add(keeper.pid);
    const entry: Running = { cam, keeper, sessionsBase: 0 };
    this.running.set(name, entry);
    await waitFor(`the keeper's RTSP session on ${name}`, () => cam.sessionsOpened() >= 1, { timeoutMs: 15_000 });
    entry.sessionsBase = cam.sessionsOpened();
    return cam;
  }

  async stop(name: string): Promise<void> {
    const c = this.running.get(name);
    if (!c) return;
    this.running.delete(name);
    if (c.keeper.pid !== undefined) this.keeperPids.delete(c.keeper.pid);
    c.keeper.kill("SIGTERM");
    await c.cam.stop();
  }

  async stopAll(except: readonly string[] = []): Promise<void> {
    for (const name of this.names()) if (!except.includes(name)) await this.stop(name);
  }

  /** Waits until only the keeper is connected to the camera (the bot's ffmpeg has let go). */
  async idle(name: string): Promise<void> {
    const cam = this.get(name);
    if (!cam) return;
    await waitFor(`camera ${name} to serve only its keeper`, () => cam.clientsConnected() <= 1, { timeoutMs: 15_000 });
  }

  markSessions(names: readonly string[]): void {
    for (const n of names) {
      const c = this.running.get(n);
      if (c) c.sessionsBase = c.cam.sessionsOpened();
    }
  }

  /** RTSP sessions each camera saw opened since markSessions (−1 for a camera not running). */
  sessionsSince(names: readonly string[]): number[] {
    return names.map((n) => {
      const c = this.running.get(n);
      return c ? c.cam.sessionsOpened() - c.sessionsBase : -1;
    });
  }

  isKeeper(pid: number): boolean {
    return this.keeperPids.has(pid);
  }

  /** Camera servers and keepers (their CPU is the cameras', not the bot's). */
  pids(): number[] {
    return [...this.running.values()].flatMap((c) => [c.cam.pid(), c.keeper.pid].filter((p): p is number => p !== undefined));
  }
}
