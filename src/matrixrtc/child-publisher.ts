/**
 * A MatrixRTC call's publisher as the bot holds it: the LiveKitPublisher itself runs in the LiveKit process
 * (livekit-child.ts); this side keeps the camera lease, taps it and sends the frames and PCM there (media-pipe.ts),
 * and mirrors what the call reads (its state, the peers in the LiveKit room, the callee's voice for talkback). It has
 * LiveKitPublisher's contract (CallPublisher) and its one end: stop(), the child's own end (LiveKit gone), or the
 * process going away all come through end(), once, which releases the lease and emits `ended`.
 */
import { EventEmitter } from "node:events";
import type { CameraLease } from "../media/camera-hub.ts";
import { stepWithin } from "../util/deadline.ts";
import type { Logger } from "../util/logger.ts";
import { CameraTap } from "./camera-tap.ts";
import { DISCONNECT_WITHIN_MS } from "./livekit-publisher.ts";
import type { CallPublisher, LiveKitPublisherEvents, PublisherStats } from "./livekit-types.ts";
import type { OnVoice } from "./livekit-voice.ts";
import type { CallChannel, LiveKitProcess } from "./livekit-process.ts";
import type { FromChild } from "./livekit-wire.ts";
import type { VideoEncodeFigures } from "./publisher-encode.ts";

/** How long an encode question waits for the child's answer (the speed watch asks every few seconds). */
const ENCODE_ANSWER_MS = 2000;

export class ChildPublisher extends EventEmitter<LiveKitPublisherEvents> implements CallPublisher {
  private state: "idle" | "starting" | "live" | "ended" = "idle";
  private readonly channel: CallChannel;
  private lease: CameraLease;
  private tap: CameraTap | undefined;
  private peerList: string[] = [];
  private onVoice: OnVoice | undefined;
  private ending: Promise<void> | undefined;
  /** Set when the child's side has ended (its `ended`, or the process gone): nothing more to ask it. */
  private childEnded: ((reason: string) => void) | undefined;
  private readonly childDone: Promise<string>;
  private childReason: string | undefined;
  private starting: { resolve(): void; reject(err: Error): void } | undefined;
  private readonly encodes = new Map<number, (f: VideoEncodeFigures) => void>();
  private nextReq = 1;
  private readonly counters: PublisherStats = { framesSent: 0, audioChunksSent: 0, audioChunksDropped: 0 };

  constructor(
    proc: LiveKitProcess,
    lease: CameraLease,
    private readonly log: Logger,
    private readonly trackName = lease.camera,
    /** The call's log bindings, for the child's lines about it. */
    private readonly logBindings: Record<string, string> = { camera: lease.camera },
  ) {
    super();
    this.lease = lease;
    this.childDone = new Promise((resolve) => (this.childEnded = resolve));
    this.channel = proc.open({
      message: (m) => {
        this.onMessage(m);
      },
      gone: (reason) => {
        this.childGone(reason);
      },
    });
  }

  get camera(): string {
    return this.lease.camera;
  }

  stats(): PublisherStats {
    return { ...this.counters };
  }

  peers(): string[] {
    return [...this.peerList];
  }

  videoEncode(): Promise<VideoEncodeFigures> {
    if (this.state !== "live") return Promise.resolve(undefined);
    const req = this.nextReq++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.encodes.delete(req);
        resolve(undefined);
      }, ENCODE_ANSWER_MS);
      this.encodes.set(req, (figures) => {
        clearTimeout(timer);
        resolve(figures);
      });
      this.channel.send({ t: "encode", id: this.channel.id, req });
    });
  }

  listen(callee: string, onVoice: OnVoice): { stop(): void } {
    this.onVoice = onVoice;
    this.channel.send({ t: "listen", id: this.channel.id, callee });
    return {
      stop: () => {
        if (this.onVoice !== onVoice) return;
        this.onVoice = undefined;
        this.channel.send({ t: "unlisten", id: this.channel.id });
      },
    };
  }

  async start(url: string, token: string): Promise<void> {
    if (this.state !== "idle") throw new Error(`publisher already ${this.state}`);
    this.state = "starting";
    const started = new Promise<void>((resolve, reject) => (this.starting = { resolve, reject }));
    this.channel.send({ t: "start", id: this.channel.id, url, token, trackName: this.trackName, log: this.logBindings });
    if (this.childReason !== undefined) this.starting?.reject(new Error(this.childReason));
    await started;
    // stop() while connecting has ended it (the child's answer may still have been `started`).
    if (this.isEnded()) throw new Error("stopped while connecting");
    this.state = "live";
    this.tap = this.tapOf(this.lease);
  }

  switchTo(next: CameraLease): Promise<void> {
    if (this.state === "ended") {
      next.release();
      return Promise.reject(new Error("the call has ended"));
    }
    const old = this.lease;
    this.lease = next;
    if (this.state === "live") {
      this.tap?.stop();
      this.tap = this.tapOf(next);
    }
    old.release();
    this.log.info({ from: old.camera, to: next.camera }, "camera switched");
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return this.end("stopped");
  }

  private isEnded(): boolean {
    return this.state === "ended";
  }

  private tapOf(lease: CameraLease): CameraTap {
    return new CameraTap(lease, {
      video: (frame) => {
        if (this.channel.video(frame)) this.counters.framesSent++;
      },
      audio: (chunk) => {
        if (this.channel.audio(chunk)) this.counters.audioChunksSent++;
        else this.counters.audioChunksDropped++;
      },
    });
  }

  private onMessage(m: FromChild): void {
    switch (m.t) {
      case "started":
        this.starting?.resolve();
        return;
      case "startFailed":
        this.starting?.reject(new Error(m.error));
        return;
      case "connected":
        this.peerList = m.peers;
        this.emit("connected");
        return;
      case "videoPublished":
        this.emit("videoPublished", { width: m.width, height: m.height });
        return;
      case "peers":
        this.peerList = m.peers;
        if (m.joined !== undefined) this.emit("peerJoined", m.joined);
        if (m.left !== undefined) this.emit("peerLeft", m.left);
        return;
      case "link":
        this.peerList = m.peers;
        this.emit("link", m.up);
        return;
      case "voice":
        this.onVoice?.(m.samples, m.channels);
        return;
      case "encoded":
        this.encodes.get(m.req)?.(m.figures ?? undefined);
        this.encodes.delete(m.req);
        return;
      case "ended":
        this.childGone(m.reason);
        return;
      default:
        return;
    }
  }

  /** The child's side is over (its publisher ended, or the process went): so is this one, with its reason. */
  private childGone(reason: string): void {
    if (this.childReason !== undefined) return;
    this.childReason = reason;
    this.childEnded?.(reason);
    void this.end(reason);
    // After end() has marked the state: a start() waiting learns the reason the child gave.
    this.starting?.reject(new Error(reason));
  }

  private end(reason: string): Promise<void> {
    // finish() in a microtask, once `ending` is set: an end the child reported has nothing to wait for, and the
    // call's listener on `ended` calls stop(), which must find this end (run inline, they recursed until the stack ran out).
    this.ending ??= Promise.resolve().then(() => this.finish(reason));
    return this.ending;
  }

  private async finish(reason: string): Promise<void> {
    const wasLive = this.state === "live";
    this.state = "ended";
    this.tap?.stop();
    this.tap = undefined;
    this.onVoice = undefined;
    for (const answer of this.encodes.values()) answer(undefined);
    this.encodes.clear();
    if (this.childReason === undefined) {
      this.channel.send({ t: "stop", id: this.channel.id });
      // The child bounds its own leave by DISCONNECT_WITHIN_MS; a child that does not answer is not waited for longer.
      const { outcome } = await stepWithin(Date.now() + DISCONNECT_WITHIN_MS + 1000, () => this.childDone);
      if (outcome === "overran") this.log.warn("the LiveKit process did not end the call in time; the camera is released anyway");
    }
    this.channel.close();
    this.lease.release();
    if (wasLive || reason !== "stopped") this.log.info({ reason, ...this.counters }, "LiveKit publisher ended");
    this.emit("ended", reason);
  }
}
