/**
 * The callee's voice in a MatrixRTC call, for talkback: the other participants' microphones in the LiveKit room,
 * subscribed only while someone listens (the publisher connects with autoSubscribe off: nothing else of theirs is
 * received, as the legacy calls receive no video) and decoded by rtc-node to 48 kHz mono in 10 ms frames, the
 * talkback mixer's format. Only the callee's participants are heard: identity `{user_id}:{device_id}`, minted by the
 * SFU's token service from the OpenID-checked user (what compatibility-mode clients connect as, and how Element Call
 * itself maps tracks to members: shared/notes/matrixrtc.md §2). Anyone else who got into the LiveKit room (a token
 * service that lets any user join an existing room) is never played at the door. When a second microphone of the
 * callee appears (another device), the newest is heard. Nothing before the call is connected: the talkback hub listens
 * only then, and stop() unsubscribes.
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
  /** The callee's user ID while listening: only participants `{callee}:{device}` are heard. */
  private callee: string | undefined;
  private reader: Reader | undefined;

  constructor(
    private readonly rtc: RtcNode,
    private readonly room: Room,
    private readonly log: Logger,
  ) {
    const { RoomEvent } = rtc;
    room.on(RoomEvent.TrackPublished, (publication, participant) => {
      if (this.isCallee(participant)) this.subscribe(publication);
    });
    room.on(RoomEvent.TrackSubscribed, (track, publication, participant) => {
      if (this.onVoice !== undefined && this.isCallee(participant) && this.isMicrophone(publication)) this.read(track);
    });
  }

  /** Hears `callee` from now on (each microphone of theirs already in the room, and those that come). */
  listen(callee: string, onVoice: OnVoice): { stop(): void } {
    this.callee = callee;
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
    void this.reader?.cancel().catch(() => undefined);
    this.reader = undefined;
    for (const publication of this.microphones()) if (publication.subscribed) publication.setSubscribed(false);
    this.onVoice = undefined;
    this.callee = undefined;
  }

  private microphones(): RemotePublication[] {
    return [...this.room.remoteParticipants.values()]
      .filter((p) => this.isCallee(p))
      .flatMap((p) => [...p.trackPublications.values()].filter((t) => this.isMicrophone(t)));
  }

  private isCallee(participant: RemoteParticipant): boolean {
    return this.callee !== undefined && participant.identity.startsWith(`${this.callee}:`);
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
