/**
 * Another participant in a LiveKit room, with @livekit/rtc-node: subscribes to everything and decodes it, counting
 * video frames (with their size) and audio samples, as test/harness/callee.ts does for legacy calls with wrtc sinks.
 */
import type { RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { publishLiveKitTone } from "./livekit-tone.ts";

type Room = InstanceType<RtcNode["Room"]>;
type Track = ConstructorParameters<RtcNode["VideoStream"]>[0];

export class LiveKitSubscriber {
  readonly video = { frames: 0, width: 0, height: 0 };
  /** `audibleChunks`: chunks with a peak above 1000 (the test camera sends a tone; silence decodes to near 0). */
  readonly audio = { chunks: 0, samples: 0, audibleChunks: 0, sampleRate: 0 };
  private readonly room: Room;
  private stopped = false;

  constructor(private readonly rtc: RtcNode) {
    this.room = new rtc.Room();
    this.room.on(rtc.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === rtc.TrackKind.KIND_VIDEO) void this.readVideo(track);
      else if (track.kind === rtc.TrackKind.KIND_AUDIO) void this.readAudio(track);
    });
  }

  async connect(url: string, token: string): Promise<void> {
    await this.room.connect(url, token, { autoSubscribe: true, dynacast: true });
  }

  /** Whether a participant with this identity is in the room, as this subscriber sees it. */
  sees(identity: string): boolean {
    return [...this.room.remoteParticipants.values()].some((p) => p.identity === identity);
  }

  /** 10 ms frames of the tone publishTone() has handed to rtc-node so far. */
  toneFrames = 0;

  /** Publishes a microphone that plays `hz` until stop(), as a callee who talks (livekit-tone.ts; 100 ms queue). */
  async publishTone(hz: number, amplitude: number): Promise<void> {
    await publishLiveKitTone(this.rtc, this.room, {
      hz,
      amplitude,
      queueMs: 100,
      talking: () => true,
      stopped: () => this.stopped,
      onFrame: () => {
        this.toneFrames++;
      },
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.room.disconnect();
  }

  private async readVideo(track: Track): Promise<void> {
    const reader = new this.rtc.VideoStream(track).getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done || this.stopped) break;
      const { frame } = next.value;
      this.video.frames++;
      this.video.width = frame.width;
      this.video.height = frame.height;
    }
  }

  private async readAudio(track: Track): Promise<void> {
    const reader = new this.rtc.AudioStream(track, 48_000, 1).getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done || this.stopped) break;
      const frame = next.value;
      this.audio.chunks++;
      this.audio.samples += frame.samplesPerChannel;
      this.audio.sampleRate = frame.sampleRate;
      let peak = 0;
      for (const v of frame.data) if (Math.abs(v) > peak) peak = Math.abs(v);
      if (peak > 1000) this.audio.audibleChunks++;
    }
  }
}
