/**
 * Publishes one camera into one LiveKit room with @livekit/rtc-node: the hub's decoded I420 frames and 48 kHz PCM
 * (a MediaFeed), re-encoded by rtc-node (it has no pre-encoded H.264 input; shared/notes/matrixrtc.md §2). The bot
 * runs it in its LiveKit process, fed by the media pipe (livekit-child.ts; the bot's side: child-publisher.ts); given
 * a camera lease it runs in the process that makes it (the tests, the bench's tools).
 *
 * One owner: whoever calls start() owns the publisher, which owns the room, the sources, the tap and the camera
 * lease until stop() (it releases the lease). Nothing is published until connect() succeeds; stop() unpublishes,
 * disconnects, closes the sources and releases the lease, also after a failed start. The token is a secret: it goes
 * to rtc-node only, never into a log or an event.
 *
 * An SFU that goes away (restarted, its network lost): rtc-node reconnects by itself; the link gets
 * RECONNECT_WINDOW_MS to come back (reconnect-window.ts), and the publisher ends ("ended", the call ends through its
 * one terminate()) when it does not.
 *
 * switchTo() (`!switch`) moves the tap to another camera's lease under the same tracks, as the legacy calls'
 * replaceTrack does: no new track, so the remote keeps its one video element. A camera of another size keeps the
 * same VideoSource: libwebrtc's encoder reconfigures on the frame size it is given (test/e2e/matrixrtc-incoming.test.ts
 * measures the remote's decoded size change from 640x360 to 320x240).
 */
import { EventEmitter } from "node:events";
import { stepWithin } from "../util/deadline.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { MAX_VIDEO_KBPS } from "../rtc/sdp-bitrate.ts";
import { LiveKitAudio } from "./livekit-audio.ts";
import type { I420Frame } from "../media/camera-media.ts";
import { HeldFeed, type MediaFeed } from "./media-feed.ts";
import { LiveKitVoice, type OnVoice } from "./livekit-voice.ts";
import { RECONNECT_WINDOW_MS, ReconnectWindow } from "./reconnect-window.ts";
import { releaseRoom, type RtcNode } from "./rtc-node.ts";
import type { CallPublisher, LiveKitPublisherEvents, PublisherStats } from "./livekit-types.ts";
import { videoEncodeFigures, type VideoEncodeFigures } from "./publisher-encode.ts";

type Room = InstanceType<RtcNode["Room"]>;
type VideoSource = InstanceType<RtcNode["VideoSource"]>;

/** The legacy VP8 cap (sdp-bitrate.ts): at 1.5 Mbit/s libwebrtc scaled 720p25 to 960x540 in seconds (bench matrixrtc, 12-01). */
const MAX_VIDEO_BITRATE = BigInt(MAX_VIDEO_KBPS * 1000);

/** How long stop() waits for rtc-node to leave the room and close the sources before it releases the camera anyway. */
export const DISCONNECT_WITHIN_MS = 5000;

export class LiveKitPublisher extends EventEmitter<LiveKitPublisherEvents> implements CallPublisher {
  private ending: Promise<void> | undefined;
  private readonly room: Room;
  private video: { source: VideoSource; width: number; height: number } | undefined;
  private audio: LiveKitAudio | undefined;
  private publishingVideo = false;
  private state: "idle" | "starting" | "live" | "ended" = "idle";
  private readonly link: ReconnectWindow;
  private readonly counters: PublisherStats = { framesSent: 0, audioChunksSent: 0, audioChunksDropped: 0 };
  private readonly held: HeldFeed;
  private readonly voice: LiveKitVoice;

  constructor(
    private readonly rtc: RtcNode,
    lease: MediaFeed,
    private readonly log: Logger,
    /** The track name remote participants see. */
    private readonly trackName = lease.camera,
    reconnectWindowMs = RECONNECT_WINDOW_MS,
  ) {
    super();
    this.held = new HeldFeed(
      lease,
      {
        video: (f) => {
          this.onVideo(f);
        },
        audio: (c) => {
          if (this.state === "live") this.audio?.push(c);
        },
      },
      log,
    );
    this.room = new rtc.Room();
    this.voice = new LiveKitVoice(rtc, this.room, log);
    this.link = new ReconnectWindow(reconnectWindowMs, log, (reason) => {
      void this.end(reason);
    });
  }

  /** The camera published now (it changes with switchTo). */
  get camera(): string {
    return this.held.camera;
  }

  stats(): PublisherStats {
    return { ...this.counters };
  }

  /** The video encoder's figures (publisher-encode.ts) for the encode budget; undefined before the video is published. */
  async videoEncode(): Promise<VideoEncodeFigures> {
    if (!this.publishingVideo) return undefined;
    return videoEncodeFigures((await this.room.getRtcStats()).publisherStats);
  }

  /** The identities of the other participants in the LiveKit room now. */
  peers(): string[] {
    return [...this.room.remoteParticipants.values()].map((p) => p.identity);
  }

  /** Hears `callee`'s microphones in the room (talkback) until the returned stop() or the publisher's end. */
  listen(callee: string, onVoice: OnVoice): { stop(): void } {
    return this.voice.listen(callee, onVoice);
  }

  /** Connects to `url` with `token` and starts publishing; rejects (and cleans up) when connecting fails. */
  async start(url: string, token: string): Promise<void> {
    if (this.state !== "idle") throw new Error(`publisher already ${this.state}`);
    this.state = "starting";
    try {
      this.watchRoom();
      await this.room.connect(url, token, { autoSubscribe: false, dynacast: true });
      if (this.isEnded()) throw new Error("stopped while connecting");
      this.voice.roomConnected();
      const { LocalAudioTrack, TrackPublishOptions, TrackSource } = this.rtc;
      this.audio = new LiveKitAudio(this.rtc, this.counters);
      const audioTrack = LocalAudioTrack.createAudioTrack(`${this.trackName}-audio`, this.audio.source);
      await this.localParticipant().publishTrack(audioTrack, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
      if (this.isEnded()) throw new Error("stopped while publishing");
      this.state = "live";
      this.held.tapNow();
      this.log.info({ url, room: this.room.name }, "publishing the camera to LiveKit");
      this.emit("connected");
    } catch (err: unknown) {
      await this.end(`could not start: ${errorMessage(err)}`);
      // stop() during connect() found nothing to disconnect yet: the room connected after it, so leave it now.
      if (this.room.isConnected) await stepWithin(Date.now() + DISCONNECT_WITHIN_MS, () => this.room.disconnect());
      throw err;
    }
  }

  /**
   * Publishes `next` instead of the current camera; the current lease is released. Before the publisher is live the
   * lease is only swapped (start() taps whichever it holds); after it has ended, `next` is released and it throws.
   */
  switchTo(to: MediaFeed): Promise<void> {
    return this.held.switchTo(to);
  }

  /** Unpublishes, disconnects and releases the camera. Idempotent. */
  stop(): Promise<void> {
    return this.end("stopped");
  }

  private isEnded(): boolean {
    return this.state === "ended";
  }

  private watchRoom(): void {
    const { RoomEvent, DisconnectReason } = this.rtc;
    this.room.on(RoomEvent.Disconnected, (reason) => {
      void this.end(this.link.gaveUpReason() ?? `disconnected by LiveKit (${DisconnectReason[reason]})`);
    });
    this.room.on(RoomEvent.ParticipantConnected, (p) => this.emit("peerJoined", p.identity));
    this.room.on(RoomEvent.ParticipantDisconnected, (p) => this.emit("peerLeft", p.identity));
    this.room.on(RoomEvent.Reconnecting, () => {
      if (!this.isEnded() && this.link.lost()) this.emit("link", false);
    });
    this.room.on(RoomEvent.Reconnected, () => {
      this.voice.roomConnected();
      if (!this.isEnded() && this.link.back()) this.emit("link", true);
    });
  }

  private localParticipant(): NonNullable<Room["localParticipant"]> {
    const local = this.room.localParticipant;
    if (local === undefined) throw new Error("not connected");
    return local;
  }

  private onVideo(frame: I420Frame): void {
    if (this.state !== "live") return;
    const { VideoFrame, VideoBufferType } = this.rtc;
    if (this.video === undefined) {
      this.video = { source: new this.rtc.VideoSource(frame.width, frame.height), width: frame.width, height: frame.height };
      void this.publishVideo(this.video.source, frame);
    }
    if (!this.publishingVideo) return;
    // captureFrame copies the frame synchronously (an FFI request), so wrtc's buffer may be reused after it.
    this.video.source.captureFrame(new VideoFrame(frame.data, frame.width, frame.height, VideoBufferType.I420));
    this.counters.framesSent++;
    if (this.counters.framesSent === 1) this.emit("videoPublished", { width: frame.width, height: frame.height });
  }

  private async publishVideo(source: VideoSource, first: I420Frame): Promise<void> {
    const { LocalVideoTrack, TrackPublishOptions, TrackSource, VideoCodec } = this.rtc;
    const track = LocalVideoTrack.createVideoTrack(`${this.trackName}-video`, source);
    try {
      await this.localParticipant().publishTrack(
        track,
        new TrackPublishOptions({
          source: TrackSource.SOURCE_CAMERA,
          videoCodec: VideoCodec.VP8,
          // One layer: a doorbell call has one or two viewers, and simulcast would encode the picture three times.
          simulcast: false,
          videoEncoding: { maxBitrate: MAX_VIDEO_BITRATE, maxFramerate: 30 },
        }),
      );
      this.publishingVideo = this.state === "live";
      this.log.debug({ width: first.width, height: first.height }, "camera video published to LiveKit");
    } catch (err: unknown) {
      await this.end(`could not publish the video: ${errorMessage(err)}`);
    }
  }

  /** Every end (stop(), a failed start, LiveKit's disconnect) is this one, once: a second stop() waits for the first. */
  private end(reason: string): Promise<void> {
    this.ending ??= this.finish(reason);
    return this.ending;
  }

  private async finish(reason: string): Promise<void> {
    const wasLive = this.state === "live";
    this.state = "ended";
    this.link.stop();
    this.voice.stop();
    this.held.end();
    this.publishingVideo = false;
    // Disconnecting unpublishes every local track; the sources are closed after it, when nothing reads them. Bounded,
    // as the call's end is (rtc-call.ts): an rtc-node call that never returns must not hold the camera for good.
    const closing = async (): Promise<void> => {
      await this.room.disconnect().catch((err: unknown) => {
        this.log.debug({ err: errorMessage(err) }, "LiveKit disconnect failed");
      });
      await Promise.allSettled([this.video?.source.close(), this.audio?.close()]);
    };
    const { outcome } = await stepWithin(Date.now() + DISCONNECT_WITHIN_MS, closing);
    if (outcome === "overran")
      this.log.warn({ withinMs: DISCONNECT_WITHIN_MS }, "LiveKit did not let the call go in time; the camera is released anyway");
    this.room.removeAllListeners();
    releaseRoom(this.room);
    this.held.release();
    if (wasLive || reason !== "stopped") this.log.info({ reason, ...this.counters }, "LiveKit publisher ended");
    this.emit("ended", reason);
  }
}
