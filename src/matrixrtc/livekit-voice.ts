/**
 * The callee's voice in a MatrixRTC call, for talkback: the other participants' microphones in the LiveKit room,
 * subscribed only while someone listens (the publisher connects with autoSubscribe off: nothing else of theirs is
 * received, as the legacy calls receive no video) and decoded by rtc-node to 48 kHz mono in 10 ms frames, the
 * talkback mixer's format. The bot's DM has one other member, so every remote microphone is the callee's; when a
 * second one appears (another device of theirs), the newest is heard. Nothing before the call is connected: the
 * talkback hub listens only then, and stop() unsubscribes.
 */
import { errorMessage, type Logger } from "../util/logger.ts";
import type { RtcNode } from "./rtc-node.ts";

type Room = InstanceType<RtcNode["Room"]>;
type RemoteParticipant = NonNullable<ReturnType<Room["remoteParticipants"]["get"]>>;
type RemotePublication = NonNullable<ReturnType<RemoteParticipant["trackPublications"]["get"]>>;
type Track = ConstructorParameters<RtcNode["AudioStream"]>[0];
type Reader = ReturnType<InstanceType<RtcNode["AudioStream"]>["getReader"]>;

export type OnVoice = (samples: Int16Array, channels: number) => void;

export class LiveKitVoice {
  private onVoice: OnVoice | undefined;
  private reader: Reader | undefined;

  constructor(
    private readonly rtc: RtcNode,
    private readonly room: Room,
    private readonly log: Logger,
  ) {
    const { RoomEvent } = rtc;
    room.on(RoomEvent.TrackPublished, (publication) => {
      this.subscribe(publication);
    });
    room.on(RoomEvent.TrackSubscribed, (track, publication) => {
      if (this.onVoice !== undefined && this.isMicrophone(publication)) this.read(track);
    });
  }

  /** Hears the callee from now on (every microphone already in the room, and those that come). */
  listen(onVoice: OnVoice): { stop(): void } {
    this.onVoice = onVoice;
    this.subscribeAll();
    return {
      stop: () => {
        if (this.onVoice !== onVoice) return;
        this.stop();
      },
    };
  }

  /** The bot's own connect (or reconnect) filled the room: participants already there raised no event. */
  roomConnected(): void {
    if (this.onVoice !== undefined) this.subscribeAll();
  }

  stop(): void {
    this.onVoice = undefined;
    void this.reader?.cancel().catch(() => undefined);
    this.reader = undefined;
    for (const publication of this.microphones()) if (publication.subscribed) publication.setSubscribed(false);
  }

  private microphones(): RemotePublication[] {
    return [...this.room.remoteParticipants.values()].flatMap((p) => [...p.trackPublications.values()].filter((t) => this.isMicrophone(t)));
  }

  private isMicrophone(publication: RemotePublication): boolean {
    return publication.kind === this.rtc.TrackKind.KIND_AUDIO;
  }

  private subscribeAll(): void {
    for (const publication of this.microphones()) {
      this.subscribe(publication);
      // Subscribed before (a listener that stopped and came back): its track is there already.
      if (publication.track !== undefined && this.reader === undefined) this.read(publication.track);
    }
  }

  private subscribe(publication: RemotePublication): void {
    if (this.onVoice === undefined || !this.isMicrophone(publication) || publication.subscribed) return;
    publication.setSubscribed(true);
  }

  private read(track: Track): void {
    void this.reader?.cancel().catch(() => undefined);
    const reader = new this.rtc.AudioStream(track, { sampleRate: 48_000, numChannels: 1, frameSizeMs: 10 }).getReader();
    this.reader = reader;
    this.log.info("talkback: hearing the callee's microphone in LiveKit");
    void (async () => {
      for (;;) {
        const next = await reader.read();
        if (next.done || this.reader !== reader) return;
        this.onVoice?.(next.value.data, next.value.channels);
      }
    })().catch((err: unknown) => {
      this.log.debug({ err: errorMessage(err) }, "the callee's LiveKit audio stream ended");
    });
  }
}
