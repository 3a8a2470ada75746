/**
 * The cameras one LiveKit process is fed (livekit-process.ts): one tap on the camera's pipeline (camera-media.ts) and
 * one media-pipe record per camera frame, however many of the process's calls show that camera. The child hands each
 * record to every call it has been told is on that stream (`feed`, livekit-wire.ts). With a tap and a record per
 * call, two calls of one 720p camera cost the bot two pipe writes of every 1.4 MB frame (bench matrixrtc: the second
 * call 42.5 % of a core against 24.8 % with rtc-node in the bot, 2026-12-04, when the taps were wrtc sinks).
 *
 * A stream is keyed by the camera's video track, which the hub makes once per camera and shares by all its leases:
 * the tap lives while any call of the process is on it, and each such call holds a lease, so the camera outlives it.
 */
import type { CameraLease } from "../media/camera-hub.ts";
import type { MediaWriter } from "./media-pipe.ts";

/** What a call on a stream learns of each frame and chunk: whether it went to the process (false: dropped). */
export interface SentCounts {
  video(sent: boolean): void;
  audio(sent: boolean): void;
}

interface Stream {
  readonly id: number;
  readonly tap: { stop(): void };
  readonly calls: Set<SentCounts>;
}

export class CameraStreams {
  private readonly streams = new Map<MediaStreamTrack, Stream>();
  private nextId = 1;

  constructor(private readonly media: MediaWriter) {}

  /** Streams now (one per camera some call of the process shows). */
  get size(): number {
    return this.streams.size;
  }

  /** One more call on `lease`'s camera: its stream's id (made now if none), and the call's leave (idempotent). */
  join(lease: CameraLease, counts: SentCounts): { stream: number; leave(): void } {
    const stream = this.streams.get(lease.video) ?? this.open(lease);
    // Each join its own member: a leave removes only its own, even were the same counts joined twice.
    const member: SentCounts = {
      video: (sent) => {
        counts.video(sent);
      },
      audio: (sent) => {
        counts.audio(sent);
      },
    };
    stream.calls.add(member);
    return {
      stream: stream.id,
      leave: () => {
        if (!stream.calls.delete(member) || stream.calls.size > 0) return;
        stream.tap.stop();
        if (this.streams.get(lease.video) === stream) this.streams.delete(lease.video);
      },
    };
  }

  /** The process has gone: every tap stops (its calls learn it through their channels). */
  stopAll(): void {
    for (const stream of this.streams.values()) {
      stream.tap.stop();
      stream.calls.clear();
    }
    this.streams.clear();
  }

  private open(lease: CameraLease): Stream {
    const id = this.nextId++;
    const calls = new Set<SentCounts>();
    const tap = lease.tap({
      video: (frame) => {
        const sent = this.media.video(id, frame);
        for (const call of calls) call.video(sent);
      },
      audio: (chunk) => {
        const sent = this.media.audio(id, chunk);
        for (const call of calls) call.audio(sent);
      },
    });
    const stream = { id, tap, calls };
    this.streams.set(lease.video, stream);
    return stream;
  }
}
