/**
 * The bench's cameras: test/harness/rtsp_camera.py with --stamp (every frame carries its capture time), on ports
 * chosen up front so the bot's config can list every camera before any is started.
 *
 * Cameras of one resolution share one server (the bot's config gives them the same URL, see Rig.start): the bot
 * still opens an RTSP session, a front end and a decoder for each of its cameras, but the rig encodes the picture
 * once. Four rig servers of their own — four x264 encoders on the bot's two cores — took 93 % of a core on the
 * faster machine and 43–45 % of a core each on the slower one, and delivered the frames seconds late, so "8 calls
 * over 4 cameras" measured the rig (docs/benchmark.md, 2026-12-02). A real camera encodes on its own hardware.
 *
 * Each running server has a *keeper*: a real IP camera streams all the time, so one client that only copies keeps
 * the shared pipeline playing, and a new client joins mid-GOP (GOP 1 s here) as it would on a camera, not on a freshly
 * started encoder that begins with a keyframe. The keepers' CPU is counted with the cameras', never the bot's.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { startRtspCamera, type RtspCamera } from "../../test/harness/rtsp-camera.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { FPS, type Resolution } from "../plan.ts";
import { withoutLauncherEnv } from "../../test/harness/rig-env.ts";

interface Server {
  cam: RtspCamera;
  keeper: ChildProcess;
  /** The bot cameras started on it (stop() of the last one stops the server). */
  users: Set<string>;
  /** sessionsOpened() when the current scenario began (markSessions). */
  sessionsBase: number;
}

export function cameraName(res: Resolution, i: number): string {
  return `c${res.height}-${i}`;
}

export class CameraSet {
  /** By port: one server for every camera the config points at it. */
  private readonly servers = new Map<number, Server>();
  private readonly keeperPids = new Set<number>();

  constructor(
    private readonly ffmpegPath: () => string,
    /** name → port and size, for every camera the bot's config lists (cameras sharing a server share a port). */
    private readonly ports: ReadonlyMap<string, { port: number; res: Resolution }>,
  ) {}

  private server(name: string): Server | undefined {
    const spec = this.ports.get(name);
    const s = spec === undefined ? undefined : this.servers.get(spec.port);
    return s?.users.has(name) === true ? s : undefined;
  }

  /** The servers of these cameras, each once, in order. */
  private serversOf(names: readonly string[]): (Server | undefined)[] {
    const seen = new Set<Server>();
    const out: (Server | undefined)[] = [];
    for (const n of names) {
      const s = this.server(n);
      if (s !== undefined && seen.has(s)) continue;
      if (s !== undefined) seen.add(s);
      out.push(s);
    }
    return out;
  }

  get(name: string): RtspCamera | undefined {
    return this.server(name)?.cam;
  }

  names(): string[] {
    return [...this.servers.values()].flatMap((s) => [...s.users]);
  }

  /** Starts the camera's server and its keeper unless running; resolves once the keeper's RTSP session is open. */
  async start(name: string): Promise<RtspCamera> {
    const spec = this.ports.get(name);
    if (spec === undefined) throw new Error(`no port for camera ${name}`);
    const have = this.servers.get(spec.port);
    if (have) {
      have.users.add(name);
      return have.cam;
    }
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
      { stdio: "ignore", env: withoutLauncherEnv() },
    );
    if (keeper.pid !== undefined) this.keeperPids.add(keeper.pid);
    const entry: Server = { cam, keeper, users: new Set([name]), sessionsBase: 0 };
    this.servers.set(spec.port, entry);
    await waitFor(`the keeper's RTSP session on ${name}`, () => cam.sessionsOpened() >= 1, { timeoutMs: 15_000 });
    entry.sessionsBase = cam.sessionsOpened();
    return cam;
  }

  /** The camera is no longer used; its server stops with the last camera on it. */
  async stop(name: string): Promise<void> {
    const spec = this.ports.get(name);
    const s = this.server(name);
    if (spec === undefined || s === undefined) return;
    s.users.delete(name);
    if (s.users.size > 0) return;
    this.servers.delete(spec.port);
    if (s.keeper.pid !== undefined) this.keeperPids.delete(s.keeper.pid);
    s.keeper.kill("SIGTERM");
    await s.cam.stop();
  }

  async stopAll(except: readonly string[] = []): Promise<void> {
    for (const name of this.names()) if (!except.includes(name)) await this.stop(name);
  }

  /** Waits until only the keeper is connected to the camera's server (the bot's front ends have let go). */
  async idle(name: string): Promise<void> {
    const cam = this.get(name);
    if (!cam) return;
    await waitFor(`camera ${name} to serve only its keeper`, () => cam.clientsConnected() <= 1, { timeoutMs: 15_000 });
  }

  markSessions(names: readonly string[]): void {
    for (const s of this.serversOf(names)) if (s) s.sessionsBase = s.cam.sessionsOpened();
  }

  /**
   * RTSP sessions each of these cameras' servers saw opened since markSessions, a server once (−1 for a camera not
   * running): 4 for four cameras on one server that the bot each opened once.
   */
  sessionsSince(names: readonly string[]): number[] {
    return this.serversOf(names).map((s) => (s ? s.cam.sessionsOpened() - s.sessionsBase : -1));
  }

  isKeeper(pid: number): boolean {
    return this.keeperPids.has(pid);
  }

  /** Camera servers and keepers (their CPU is the cameras', not the bot's). */
  pids(): number[] {
    return [...this.servers.values()].flatMap((s) => [s.cam.pid(), s.keeper.pid].filter((p): p is number => p !== undefined));
  }
}
