/**
 * A microphone in a LiveKit room (rtc-node) that says `hz` while `talking()`, silence otherwise: 10 ms frames of
 * 48 kHz mono, paced by rtc-node's queue (captureFrame waits while it is full). The LiveKit twin of tone-mic.ts's
 * wrtc microphones, for the talkback test's callee (LiveKitSubscriber.publishTone) and the bench's MatrixRTC callee
 * (bench/rtc-callee.ts).
 */
import type { RtcNode } from "../../src/matrixrtc/rtc-node.ts";

type Room = InstanceType<RtcNode["Room"]>;

const RATE = 48_000;
const CHUNK = 480;

export interface LiveKitToneOptions {
  hz: number;
  amplitude: number;
  /** rtc-node's queue: how far ahead of the wall clock the frames may be handed over. */
  queueMs: number;
  talking: () => boolean;
  /** Ends the pump (checked before each frame). */
  stopped: () => boolean;
  /** After each frame handed over, whether it carried the tone. */
  onFrame?: (tone: boolean) => void;
  onError?: (err: unknown) => void;
}

/** Publishes the microphone in `room` (connected) and pumps it until `stopped()`. */
export async function publishLiveKitTone(rtc: RtcNode, room: Room, opts: LiveKitToneOptions): Promise<void> {
  const source = new rtc.AudioSource(RATE, 1, opts.queueMs);
  const track = rtc.LocalAudioTrack.createAudioTrack("microphone", source);
  const local = room.localParticipant;
  if (local === undefined) throw new Error("the LiveKit room is not connected");
  await local.publishTrack(track, new rtc.TrackPublishOptions({ source: rtc.TrackSource.SOURCE_MICROPHONE }));
  let n = 0;
  void (async () => {
    while (!opts.stopped()) {
      const data = new Int16Array(CHUNK);
      const tone = opts.talking();
      if (tone) for (let i = 0; i < CHUNK; i++) data[i] = Math.round(opts.amplitude * Math.sin((2 * Math.PI * opts.hz * (n + i)) / RATE));
      n += CHUNK;
      await source.captureFrame(new rtc.AudioFrame(data, RATE, 1, CHUNK));
      opts.onFrame?.(tone);
    }
  })().catch((err: unknown) => opts.onError?.(err));
}
