/**
 * What a camera's next front-end run uses: which program reads the camera (GStreamer unless configured otherwise and where it can,
 * else ffmpeg), GStreamer's codec chain, the camera's audio and the hardware decoder. They start from the config and
 * only ever narrow: a fallback chosen by the restart policy (restart-policy.ts) turns GStreamer, audio or hardware
 * decoding off for good, or switches GStreamer to the codec the camera announced. Apart from camera-pipeline.ts,
 * which decides when runs start and stop; this decides with what.
 */
import type { CameraConfig } from "../config/load.ts";
import type { Logger } from "../util/logger.ts";
import type { RunCommand, RunEnd } from "./camera-run.ts";
import { gstLaunchInstalled, initialFrontEnd, runCommand } from "./front-end.ts";
import { FrameEndProxy, proxyable } from "./frame-end-proxy.ts";
import type { GstCodec } from "./gst-front-end.ts";
import { leanCanRead, type Ffmpegs } from "./lean-ffmpeg.ts";
import type { FrontEnd, NextStep } from "./restart-policy.ts";

export class RunOptions {
  /** The options of the next run: a fallback turns them off for good. */
  audioEnabled: boolean;
  hwaccel: CameraConfig["hwaccel"];
  frontEnd: FrontEnd;
  /** ffmpeg runs are the lean build's (lean-ffmpeg.ts): it is there and can read the camera, until it lacked a part. */
  lean: boolean;
  /** GStreamer's chain: H.264 until the camera says it sends H.265. */
  private gstCodec: GstCodec = "h264";
  /**
   * ffmpeg reads an rtsp:// camera through its frame-end proxy (a frame sooner), opened with the options so that it
   * listens before the first run. After a run through it fails the next one reads the camera directly ("trial"):
   * when that run shows frames the proxy is dropped for good, when it fails too the camera was the problem and the
   * proxy is used again.
   */
  private proxy: FrameEndProxy | undefined;
  private proxyUse: "on" | "trial" = "on";
  /** The last run went through the proxy. */
  private proxied = false;

  constructor(
    private readonly camera: CameraConfig,
    private readonly ffmpegs: Ffmpegs,
    private readonly log: Logger,
  ) {
    this.audioEnabled = camera.audio;
    this.hwaccel = camera.hwaccel;
    this.lean = ffmpegs.lean !== undefined && leanCanRead(camera);
    this.frontEnd = initialFrontEnd(camera, log, gstLaunchInstalled, this.lean);
    if (this.frontEnd === "ffmpeg") this.openProxy();
  }

  private openProxy(): void {
    if (this.proxy === undefined && proxyable(this.camera.url)) this.proxy = new FrameEndProxy(this.camera.url, this.log);
  }

  /** Settles once what the next run reads through is ready (the frame-end proxy listening, where there is one). */
  async prepared(): Promise<void> {
    await this.proxy?.listening;
  }

  /** The command line of the next run. */
  command(): RunCommand {
    const ffmpegUrl = this.frontEnd === "ffmpeg" && this.proxyUse === "on" ? this.proxy?.url() : undefined;
    this.proxied = ffmpegUrl !== undefined;
    // What the proxy saw belongs to one run: an earlier session's (or a stranger's) must not judge this one.
    if (this.proxy !== undefined) this.proxy.last = undefined;
    const ffmpeg = this.lean && this.ffmpegs.lean !== undefined ? this.ffmpegs.lean : this.ffmpegs.full;
    return runCommand(this.frontEnd, this.camera, ffmpeg, {
      audio: this.audioEnabled,
      hwaccel: this.hwaccel,
      gstCodec: this.gstCodec,
      ffmpegUrl,
    });
  }

  /**
   * A run ended with `frames`: ends a trial without the proxy that showed nothing, and says whether the proxy is the
   * suspect for a run through it (ExitFacts.proxyFailed): it broke the session off or kept ffmpeg out, or ffmpeg
   * showed nothing although the camera sent video, said yes to PLAY, or sent bytes the proxy still held. A camera that
   * refuses (401, 453, 503), closes or cannot be reached is the camera's fault, and is retried as it is.
   */
  runEnded(frames: number): boolean {
    if (!this.proxied && this.proxyUse === "trial") {
      // The direct run showed nothing either: the camera was the problem, not the proxy.
      this.proxyUse = "on";
      return false;
    }
    const last = this.proxy?.last;
    return this.proxied && last !== undefined && (last.broken || (frames === 0 && (last.video > 0 || last.played || last.held)));
  }

  /** The run's first frame: a direct run on trial shows the proxy was the problem, and it stays off for the camera. */
  framesFlowing(): void {
    if (this.proxied || this.proxyUse !== "trial") return;
    this.log.info("the camera shows frames read directly: the frame-end proxy stays off for it");
    this.proxy?.close();
    this.proxy = undefined;
    this.proxyUse = "on";
  }

  /** The bot is stopping: the proxy's listener and sessions are closed. */
  close(): void {
    this.proxy?.close();
    this.proxy = undefined;
  }

  /** Delimiters the proxy wrote in its last session (stats). */
  get frameEnds(): number | undefined {
    return this.proxied ? this.proxy?.last?.delimiters : undefined;
  }

  /** Carries out a fallback step after the run that ended with `end`. */
  apply(step: Extract<NextStep, { kind: "gstCodec" | "fallback" }>, end: RunEnd): void {
    if (step.kind === "gstCodec") {
      this.log.info({ codec: step.codec }, "the camera sends this codec: GStreamer decodes it");
      this.gstCodec = step.codec;
    } else if (step.drop === "gstreamer") {
      // Worth a warning only where the config asked for GStreamer; by default ffmpeg is the way for such cameras.
      const level = this.camera.frontEnd === "gstreamer" ? "warn" : "info";
      this.log[level](
        { gst: end.exit.lastLines.slice(-2) },
        "the GStreamer front end cannot read this camera (MJPEG, a missing plugin?): using ffmpeg",
      );
      this.frontEnd = "ffmpeg";
      // Listening by the run after next: this one follows at once.
      this.openProxy();
    } else if (step.drop === "lean") {
      this.log.warn(
        { ffmpeg: end.exit.lastLines.slice(-2) },
        "the lean ffmpeg lacks what this camera sends (its codec?): the full ffmpeg reads it from now on",
      );
      this.lean = false;
    } else if (step.drop === "proxy") {
      this.log.info(
        { reason: this.proxy?.last?.stopped, ffmpeg: end.exit.lastLines.slice(-2) },
        "ffmpeg read nothing through the frame-end proxy: reading the camera directly",
      );
      this.proxyUse = "trial";
    } else if (step.drop === "audio") {
      this.audioEnabled = false;
      this.log.warn("the camera has no audio stream: continuing with video only");
    } else {
      this.log.warn({ hwaccel: this.hwaccel, ffmpeg: end.exit.lastLines.slice(-2) }, "hardware decoding failed: using software decoding");
      this.hwaccel = "none";
    }
  }
}
