/**
 * A MatrixRTC call's publisher as the bot holds it: the LiveKitPublisher itself runs in the LiveKit process
 * (livekit-child.ts); this side keeps the camera lease (HeldFeed) and puts the call on the lease's stream to that
 * process (camera-streams.ts: each camera's frames and PCM go there once, however many calls show it), and mirrors
 * what the call reads (its state, the peers in the LiveKit room, the callee's voice for talkback). It has
 * LiveKitPublisher's contract (CallPublisher) and its one end: stop(), the child's own end (LiveKit gone), or the
 * process going away all come through end(), once, which releases the lease and emits `ended`.
 */
import { EventEmitter } from "node:events";
import type { CameraLease } from "../media/camera-hub.ts";
import { stepWithin } from "../util/deadline.ts";
import { SettledOnce } from "../util/settled-once.ts";
import type { Logger } from "../util/logger.ts";
import { DISCONNECT_WITHIN_MS } from "./livekit-publisher.ts";
import type { CallPublisher, LiveKitPublisherEvents, PublisherStats } from "./livekit-types.ts";
import type { OnVoice } from "./livekit-voice.ts";
import type { Opened } from "./livekit-host.ts";
import type { CallChannel, CallHandlers } from "./livekit-process.ts";
import type { FromChild, ToChild } from "./livekit-wire.ts";
import type { SentCounts } from "./camera-streams.ts";
import { HeldFeed, type MediaFeed } from "./media-feed.ts";
import type { VideoEncodeFigures } from "./publisher-encode.ts";
import { unavailableMessage } from "./rtc-node.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** How long an encode question waits for the child's answer (the speed watch asks every few seconds). */
const ENCODE_ANSWER_MS = 2000;

export class ChildPublisher extends EventEmitter<LiveKitPublisherEvents> implements CallPublisher {
  private state: "idle" | "starting" | "live" | "ended" = "idle";
  /** The call's channel to its LiveKit process, once the host has one (a process may be starting: rtc-calls.ts). */
  private channel: CallChannel | undefined;
  private readonly opening: Promise<Opened>;
  /** Whether the child was asked to start: only then has it an end to report. */
  private startSent = false;
  private readonly held: HeldFeed<SentCounts>;
  private peerList: string[] = [];
  private listening: string | undefined;
  private onVoice: OnVoice | undefined;
  private ending: Promise<void> | undefined;
  /** The child's side's end (its `ended`, or the process gone), with its reason: from then on, nothing more to ask it. */
  private readonly childEnd = new SettledOnce<string>();
  private starting: { resolve(): void; reject(err: Error): void } | undefined;
  private readonly encodes = new Map<number, (f: VideoEncodeFigures) => void>();
  private nextReq = 1;
  private readonly counters: PublisherStats = { framesSent: 0, audioChunksSent: 0, audioChunksDropped: 0 };

  constructor(
    host: { open(handlers: CallHandlers): Promise<Opened> },
    lease: CameraLease,
    private readonly log: Logger,
    private readonly trackName = lease.camera,
    /** The call's log bindings, for the child's lines about it. */
    private readonly logBindings: Record<string, string> = { camera: lease.camera },
  ) {
    super();
    this.held = new HeldFeed<SentCounts>(
      this.feedOf(lease),
      {
        video: (sent) => {
          if (sent) this.counters.framesSent++;
        },
        audio: (sent) => {
          if (sent) this.counters.audioChunksSent++;
          else this.counters.audioChunksDropped++;
        },
      },
      log,
    );
    this.opening = host.open({
      message: (m) => {
        this.onMessage(m);
      },
      gone: (reason) => {
        this.childGone(reason);
      },
    });
    void this.opening.then((opened) => {
      if (!opened.ok) return;
      // Ended while the process started: the channel is closed at once.
      if (this.ending !== undefined) opened.channel.close();
      else this.channel = opened.channel;
    });
  }

  get camera(): string {
    return this.held.camera;
  }

  stats(): PublisherStats {
    return { ...this.counters };
  }

  peers(): string[] {
    return [...this.peerList];
  }

  videoEncode(): Promise<VideoEncodeFigures> {
    const channel = this.channel;
    if (this.state !== "live" || channel === undefined) return Promise.resolve(undefined);
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
      channel.send({ t: "encode", id: channel.id, req });
    });
  }

  listen(callee: string, onVoice: OnVoice): { stop(): void } {
    this.onVoice = onVoice;
    this.listening = callee;
    this.send({ t: "listen", callee });
    return {
      stop: () => {
        if (this.onVoice !== onVoice) return;
        this.onVoice = undefined;
        this.listening = undefined;
        this.send({ t: "unlisten" });
      },
    };
  }

  async start(url: string, token: string): Promise<void> {
    if (this.state !== "idle") throw new Error(`publisher already ${this.state}`);
    this.state = "starting";
    const opened = await this.opening;
    if (!opened.ok) throw new Error(unavailableMessage(opened.reason));
    if (this.isEnded()) throw new Error("stopped while connecting");
    let starting: { resolve(): void; reject(err: Error): void } | undefined;
    const started = new Promise<void>((resolve, reject) => (starting = { resolve, reject }));
    this.starting = starting;
    this.send({ t: "start", url, token, trackName: this.trackName, log: this.logBindings });
    this.startSent = true;
    // listen() before the start (talkback follows the call from its beginning) is sent after it.
    if (this.listening !== undefined) this.send({ t: "listen", callee: this.listening });
    if (this.childEnd.value !== undefined) starting?.reject(new Error(this.childEnd.value));
    await started;
    // stop() while connecting has ended it (the child's answer may still have been `started`).
    if (this.isEnded()) throw new Error("stopped while connecting");
    this.state = "live";
    this.held.tapNow();
  }

  switchTo(next: CameraLease): Promise<void> {
    return this.held.switchTo(this.feedOf(next));
  }

  /** `lease` as this call's feed: tapped, the call is on the lease's stream to its process (once live, it has a channel). */
  private feedOf(lease: CameraLease): MediaFeed<SentCounts> {
    return {
      camera: lease.camera,
      tap: (counts) => this.channel?.feed(lease, counts) ?? { stop: () => undefined },
      release: () => {
        lease.release();
      },
    };
  }

  stop(): Promise<void> {
    return this.end("stopped");
  }

  /** A message about this call to its LiveKit process (dropped while there is no channel yet: start() sends what counts). */
  private send(message: DistributiveOmit<ToChild, "id">): void {
    const channel = this.channel;
    if (channel !== undefined) channel.send({ ...message, id: channel.id });
  }

  private isEnded(): boolean {
    return this.state === "ended";
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
    if (!this.childEnd.set(reason)) return;
    void this.end(reason);
    // After end() has marked the call ended: a start() waiting learns the reason the child gave.
    this.starting?.reject(new Error(reason));
  }

  /**
   * Marks the call ended at once and finishes in a microtask, once `ending` is set: an end the child reported has
   * nothing to wait for, and the call's listener on `ended` calls stop(), which must find this end (run inline, they
   * recursed until the stack ran out).
   */
  private end(reason: string): Promise<void> {
    if (this.ending === undefined) {
      const wasLive = this.state === "live";
      this.state = "ended";
      this.ending = Promise.resolve().then(() => this.finish(reason, wasLive));
    }
    return this.ending;
  }

  private async finish(reason: string, wasLive: boolean): Promise<void> {
    this.held.end();
    this.onVoice = undefined;
    for (const answer of this.encodes.values()) answer(undefined);
    this.encodes.clear();
    if (this.childEnd.value === undefined && this.startSent) {
      this.send({ t: "stop" });
      // The child bounds its own leave by DISCONNECT_WITHIN_MS; a child that does not answer is not waited for longer.
      const { outcome } = await stepWithin(Date.now() + DISCONNECT_WITHIN_MS + 1000, () => this.childEnd.done);
      if (outcome === "overran") this.log.warn("the LiveKit process did not end the call in time; the camera is released anyway");
    }
    this.channel?.close();
    this.channel = undefined;
    this.held.release();
    if (wasLive || reason !== "stopped") this.log.info({ reason, ...this.counters }, "LiveKit publisher ended");
    this.emit("ended", reason);
  }
}
