import type { CameraConfig } from "../config/load.ts";
import type { Logger } from "../util/logger.ts";
import { availableParallelism } from "node:os";
import type { CameraMediaHandlers } from "./camera-media.ts";
import { CameraPipeline, type PipelineStats } from "./camera-pipeline.ts";
import type { CameraLoad } from "./encode-budget.ts";
import { EncodeGovernor } from "./encode-governor.ts";
import { EncodeSpeedWatch, type CallEncodeFigures } from "./encode-speed-watch.ts";
import { OverloadBrake } from "./overload-share.ts";
import type { Ffmpegs } from "./lean-ffmpeg.ts";

/** A call's hold on a camera: the camera's tracks, which every call of the camera sends, and its media for other publishers. */
export interface CameraLease {
  readonly camera: string;
  readonly video: MediaStreamTrack;
  readonly audio: MediaStreamTrack;
  /** The camera's frames and PCM as its tracks get them, for a call that is not a wrtc peer connection (MatrixRTC's). */
  tap(handlers: CameraMediaHandlers): { stop(): void };
  /** Lets go of the camera; the pipeline stops after the idle grace when no lease is left. Idempotent. */
  release(): void;
}

interface Entry {
  pipeline: CameraPipeline;
  /**
   * The camera's video and audio tracks, made once and shared by all its calls (one track on several peer
   * connections is ordinary WebRTC: each connection's sender is one more sink of the track). wrtc never frees a
   * track it has made, stopped or not: a pair per call grew the process by two tracks (and their native parts)
   * with every call.
   */
  tracks: { video: MediaStreamTrack; audio: MediaStreamTrack } | undefined;
  leases: number;
  idleTimer: NodeJS.Timeout | undefined;
  stopping: Promise<void> | undefined;
}

/**
 * One pipeline per camera, shared by every call of that camera. A pipeline starts on the first lease (an outgoing
 * call's once its invite is on its way, startLeased(), so frames already flow at answer time) and stops `idleStopMs`
 * after the last lease ends, unless the camera is kept warm. With an encode budget (megapixels per second per core,
 * `media.encodeMegapixelsPerCore`), cameras' pictures are scaled down while the calls would need more (EncodeGovernor),
 * and the budget is cut while a camera's picture falls behind all the same (OverloadBrake).
 */
export class CameraHub {
  private readonly entries = new Map<string, Entry>();
  private readonly governor: EncodeGovernor;
  /** The share of the budget this machine's measured encoding speed gives (EncodeSpeedWatch; 1 until then). */
  private speedShare = 1;
  private speedWatch: EncodeSpeedWatch | undefined;
  /** Cuts the budget while cameras' pictures fall behind (1 until then). */
  private readonly overload: OverloadBrake;
  private readonly budgetLog: Logger;

  constructor(
    cameras: readonly CameraConfig[],
    ffmpegs: Ffmpegs,
    private readonly log: Logger,
    private readonly idleStopMs: number,
    private encodeMegapixelsPerCore = 0,
  ) {
    this.budgetLog = log.child({ component: "encode-budget" });
    // Before the governor: its first budget reads the share.
    this.overload = new OverloadBrake(() => {
      this.applyBudget();
    }, this.budgetLog);
    this.governor = new EncodeGovernor(
      this.encodeBudget(),
      (camera, divisor) => this.entries.get(camera)?.pipeline.setScale(divisor),
      this.budgetLog,
    );
    for (const camera of cameras) {
      const pipeline = new CameraPipeline(camera, ffmpegs, log.child({ camera: camera.name }));
      // The size the budget plans with is the camera's real one once its first frame says it.
      pipeline.on("firstFrame", () => {
        this.rebalance();
      });
      pipeline.on("late", (riseMs) => {
        if (this.encodeMegapixelsPerCore > 0 && this.encodes() > 1) this.overload.late(camera.name, riseMs);
      });
      this.entries.set(camera.name, { pipeline, tracks: undefined, leases: 0, idleTimer: undefined, stopping: undefined });
    }
  }

  /** Changes the encode budget at run time (the bench compares overload with and without it); 0: never scale. */
  setEncodeBudget(megapixelsPerCore: number): void {
    this.encodeMegapixelsPerCore = megapixelsPerCore;
    this.applyBudget();
  }

  /** The budget's share for this machine's measured speed (≤ 1); the configured budget is multiplied by it. */
  setSpeedShare(share: number): void {
    this.speedShare = share;
    this.applyBudget();
  }

  /**
   * From now on the budget follows this machine's measured VP8 speed (encode-speed.ts), read from the calls' sender
   * figures; for a budget left to the default, not for one the configuration sets.
   */
  followEncodeSpeed(read: () => Promise<readonly CallEncodeFigures[]>): void {
    this.speedWatch ??= new EncodeSpeedWatch(
      read,
      (share) => {
        this.setSpeedShare(share);
      },
      this.budgetLog,
    );
    this.speedWatch.start();
  }

  /** The budget in force, counted pixels per second (encode-budget.ts cameraCost; 0: none). */
  encodeBudget(): number {
    return this.encodeMegapixelsPerCore * this.speedShare * this.overload.share * 1e6 * availableParallelism();
  }

  /** Calls encoding now, over all cameras. */
  private encodes(): number {
    let n = 0;
    for (const { leases } of this.entries.values()) n += leases;
    return n;
  }

  private applyBudget(): void {
    this.governor.setBudget(this.encodeBudget());
    this.rebalance();
  }

  /** Plans the cameras' picture sizes again for the calls they have now. */
  private rebalance(): void {
    if (this.encodes() <= 1 && this.overload.reset()) this.governor.setBudget(this.encodeBudget());
    const loads: CameraLoad[] = [...this.entries].map(([name, { pipeline, leases }]) => {
      const s = pipeline.stats();
      return {
        name,
        width: s.width ?? pipeline.camera.maxWidth,
        height: s.height ?? pipeline.camera.maxHeight,
        fps: pipeline.camera.maxFps,
        encodes: leases,
      };
    });
    this.governor.update(loads);
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Starts the cameras configured with keepWarm. */
  startWarm(): void {
    for (const { pipeline } of this.entries.values()) {
      if (pipeline.camera.keepWarm) pipeline.start();
    }
  }

  /** `start: false`: the camera starts only at startLeased() (an outgoing call starts it once its invite is out). */
  acquire(name: string, opts: { start?: boolean } = {}): CameraLease {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`unknown camera ${name}`);
    if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    entry.leases++;
    entry.pipeline.setWatched(true);
    if (opts.start !== false) entry.pipeline.start();
    entry.tracks ??= { video: entry.pipeline.video.createTrack(), audio: entry.pipeline.audio.createTrack() };
    this.rebalance();
    const { video, audio } = entry.tracks;
    let released = false;
    return {
      camera: name,
      video,
      audio,
      tap: (handlers) => entry.pipeline.tap(handlers),
      release: () => {
        if (released) return;
        released = true;
        entry.leases--;
        if (entry.leases === 0) {
          entry.pipeline.setWatched(false);
          this.scheduleIdleStop(entry);
        }
        this.rebalance();
      },
    };
  }

  /** Starts the camera if it is leased and not running yet (a lease taken with `start: false`); else nothing. */
  startLeased(name: string): void {
    const entry = this.entries.get(name);
    if (entry !== undefined && entry.leases > 0) entry.pipeline.start();
  }

  private scheduleIdleStop(entry: Entry): void {
    if (entry.pipeline.camera.keepWarm) return;
    const stop = (): void => {
      entry.idleTimer = undefined;
      if (entry.leases > 0) return;
      this.log.debug({ camera: entry.pipeline.camera.name }, "camera idle: stopping its pipeline");
      entry.stopping = entry.pipeline.stop().finally(() => {
        entry.stopping = undefined;
      });
    };
    if (this.idleStopMs === 0) stop();
    else entry.idleTimer = setTimeout(stop, this.idleStopMs);
  }

  /** Each camera's figures, its calls, and what the calls get of its picture (1 the full size, 2 half, 4 a quarter). */
  stats(): Record<string, PipelineStats & { leases: number; divisor: number }> {
    const out: Record<string, PipelineStats & { leases: number; divisor: number }> = {};
    for (const [name, entry] of this.entries)
      out[name] = { ...entry.pipeline.stats(), leases: entry.leases, divisor: this.governor.divisor(name) };
    return out;
  }

  pipeline(name: string): CameraPipeline | undefined {
    return this.entries.get(name)?.pipeline;
  }

  /** Stops every pipeline (shutdown). */
  async stopAll(): Promise<void> {
    this.speedWatch?.stop();
    this.overload.stop();
    await Promise.all(
      [...this.entries.values()].map(async (entry) => {
        if (entry.idleTimer !== undefined) clearTimeout(entry.idleTimer);
        entry.idleTimer = undefined;
        await entry.pipeline.shutdown();
      }),
    );
  }
}
