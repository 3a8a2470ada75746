/**
 * The callee's LiveKit side, in the browser with livekit-client (what Element Call uses): connect with the focus's
 * jwt, publish the (fake) microphone, subscribe to everything, and measure what arrives — video frames presented
 * (requestVideoFrameCallback on a real <video> element), the receiver's decode counters and frame size (getStats),
 * and the audio level (getStats audioLevel).
 *
 * adaptiveStream is off: with it, livekit-client pauses video that no visible element shows, and a headless page
 * would measure a paused stream.
 */
import { Room, RoomEvent, Track, type RemoteTrack } from "livekit-client";
import type { MediaStats } from "../protocol.ts";

const STATS_POLL_MS = 250;

export class CalleeMedia {
  readonly room = new Room({ adaptiveStream: false, dynacast: false });
  private readonly video: MediaStats["video"] = { framesPresented: 0, framesDecoded: 0, width: 0, height: 0 };
  private readonly audio: MediaStats["audio"] = { level: 0, maxLevel: 0, totalSamplesReceived: 0 };
  private readonly tracks = new Set<RemoteTrack>();
  private readonly poll: ReturnType<typeof setInterval>;
  private micPublished = false;

  constructor(private readonly onError: (where: string, err: unknown) => void) {
    this.room.on(RoomEvent.TrackSubscribed, (track) => {
      this.onTrack(track);
    });
    this.room.on(RoomEvent.TrackUnsubscribed, (track) => {
      this.tracks.delete(track);
      track.detach().forEach((el) => {
        el.remove();
      });
    });
    this.poll = setInterval(() => {
      this.pollStats().catch((err: unknown) => {
        this.onError("getStats", err);
      });
    }, STATS_POLL_MS);
  }

  async connect(url: string, jwt: string): Promise<{ identity: string; micPublished: boolean; room: string }> {
    await this.room.connect(url, jwt, { autoSubscribe: true });
    try {
      this.micPublished = (await this.room.localParticipant.setMicrophoneEnabled(true)) !== undefined;
    } catch (err: unknown) {
      // A callee without a microphone still receives; the result says so.
      this.onError("publish microphone", err);
    }
    return { identity: this.room.localParticipant.identity, micPublished: this.micPublished, room: this.room.name };
  }

  stats(): MediaStats {
    return {
      remoteIdentities: [...this.room.remoteParticipants.values()].map((p) => p.identity),
      video: { ...this.video },
      audio: { ...this.audio },
    };
  }

  async disconnect(): Promise<void> {
    clearInterval(this.poll);
    await this.room.disconnect();
  }

  private onTrack(track: RemoteTrack): void {
    this.tracks.add(track);
    const element = track.attach();
    element.muted = true;
    document.body.append(element);
    if (track.kind !== Track.Kind.Video || !(element instanceof HTMLVideoElement)) return;
    const onFrame = (now: DOMHighResTimeStamp, meta: VideoFrameCallbackMetadata): void => {
      this.video.framesPresented++;
      this.video.firstFrameAt ??= performance.timeOrigin + now;
      if (this.video.width === 0) {
        this.video.width = meta.width;
        this.video.height = meta.height;
      }
      if (this.tracks.has(track)) element.requestVideoFrameCallback(onFrame);
    };
    element.requestVideoFrameCallback(onFrame);
    element.play().catch((err: unknown) => {
      this.onError("play video", err);
    });
  }

  private async pollStats(): Promise<void> {
    for (const track of this.tracks) {
      const report = await track.getRTCStatsReport();
      report?.forEach((s: Record<string, unknown>) => {
        if (s["type"] !== "inbound-rtp") return;
        if (s["kind"] === "video") {
          this.video.framesDecoded = num(s["framesDecoded"]);
          if (num(s["frameWidth"]) > 0) {
            this.video.width = num(s["frameWidth"]);
            this.video.height = num(s["frameHeight"]);
          }
          if (typeof s["decoderImplementation"] === "string") this.video.decoder = s["decoderImplementation"];
        } else if (s["kind"] === "audio") {
          this.audio.level = num(s["audioLevel"]);
          this.audio.maxLevel = Math.max(this.audio.maxLevel, this.audio.level);
          this.audio.totalSamplesReceived = num(s["totalSamplesReceived"]);
        }
      });
    }
  }
}

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}
