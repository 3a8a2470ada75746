/**
 * The callee's voice in a MatrixRTC call, for talkback: their microphone in the LiveKit room, decoded by rtc-node to
 * 48 kHz mono in 10 ms frames, the talkback mixer's format. The publisher connects with autoSubscribe off (nothing of
 * the callee's is received, as the legacy calls receive no video); the microphone is subscribed from the first
 * listen() (the talkback hub listens once the call is connected, never while it rings) to the end of the call.
 * Only the callee's participants are heard: identity `{user_id}:{device_id}`, minted by the SFU's token service from
 * the OpenID-checked user (what compatibility-mode clients connect as, and how Element Call itself maps tracks to
 * members: shared/notes/matrixrtc.md §2); anyone else who got into the LiveKit room (a token service that lets any
 * user join an existing room) is never played at the door. When a second microphone of the callee appears (another
 * device), the newest is heard; when the one heard goes away, another of theirs is.
 */
import { errorMessage, type Logger } from "../util/logger.ts";
import type { RtcNode } from "./rtc-node.ts";

type Room = InstanceType<RtcNode["Room"]>;
type RemoteParticipant = NonNullable<ReturnType<Room["remoteParticipants"]["get"]>>;
type RemotePublication = NonNullable<ReturnType<RemoteParticipant["trackPublications"]["get"]>>;
type Track = ConstructorParameters<RtcNode["AudioStream"]>[0];
type Reader = ReturnType<InstanceType<RtcNode["AudioStream"]>["getReader"]>;

/** `{callee}:{device}`, the device without a colon: `@al:hs:8448:DEV` (a user of another server) is not `@al:hs`'s. */
export function isCalleeIdentity(callee: string, identity: string): boolean {
  const prefix = `${callee}:`;
  return identity.startsWith(prefix) && identity.length > prefix.length && !identity.slice(prefix.length).includes(":");
}

export type OnVoice = (samples: Int16Array, channels: number) => void;

export class LiveKitVoice {
  private onVoice: OnVoice | undefined;
  /** The callee's user ID (set by listen): only participants `{callee}:{device}` are heard. */
  private callee: string | undefined;
  /** Publications asked for (rtc-node's `subscribed` changes only when the SFU answers): asked once, kept for the call. */
  private readonly asked = new Set<string>();
  private reader: Reader | undefined;

  constructor(
    private readonly rtc: RtcNode,
    private readonly room: Room,
    private readonly log: Logger,
  ) {
    const { RoomEvent } = rtc;
    // rtc-node emits trackPublished without a participant when it cannot find one.
    room.on(RoomEvent.TrackPublished, (publication, participant: RemoteParticipant | undefined) => {
      if (participant !== undefined && this.isCallee(participant)) this.subscribe(publication);
    });
    room.on(RoomEvent.TrackSubscribed, (track, publication, participant: RemoteParticipant | undefined) => {
      if (this.onVoice !== undefined && participant !== undefined && this.isCallee(participant) && this.isMicrophone(publication))
        this.read(track);
    });
  }

  /** Hears `callee` from now on (each microphone of theirs already in the room, and those that come). */
  listen(callee: string, onVoice: OnVoice): { stop(): void } {
    this.callee = callee;
    this.onVoice = onVoice;
    this.subscribeAll();
    return {
      stop: () => {
        if (this.onVoice === onVoice) this.stop();
      },
    };
  }

  /** The bot's own connect (or reconnect) filled the room: participants already there raised no event. */
  roomConnected(): void {
    if (this.onVoice !== undefined) this.subscribeAll();
  }

  /**
   * Stops hearing. The subscriptions stay until the publisher leaves the room: unsubscribing and subscribing again
   * (`!switch` between two talkback cameras does both in one tick) would race the SFU's answers, and the track
   * kept is read again at once by the next listen().
   */
  stop(): void {
    this.onVoice = undefined;
    const current = this.reader;
    this.reader = undefined;
    void current?.cancel().catch(() => undefined);
  }

  private microphones(): RemotePublication[] {
    return [...this.room.remoteParticipants.values()]
      .filter((p) => this.isCallee(p))
      .flatMap((p) => [...p.trackPublications.values()].filter((t) => this.isMicrophone(t)));
  }

  private isCallee(participant: RemoteParticipant): boolean {
    return this.callee !== undefined && isCalleeIdentity(this.callee, participant.identity);
  }

  /** The microphone only: a shared tab's or screen's audio is not the callee's voice. */
  private isMicrophone(publication: RemotePublication): boolean {
    return publication.kind === this.rtc.TrackKind.KIND_AUDIO && publication.source === this.rtc.TrackSource.SOURCE_MICROPHONE;
  }

  private subscribeAll(): void {
    for (const publication of this.microphones()) this.subscribe(publication);
    if (this.reader === undefined) this.readAny();
  }

  private subscribe(publication: RemotePublication): void {
    const sid = publication.sid;
    if (this.onVoice === undefined || !this.isMicrophone(publication) || sid === undefined || this.asked.has(sid)) return;
    this.asked.add(sid);
    publication.setSubscribed(true);
  }

  /** Reads a subscribed microphone of the callee other than `except` (one that just ended), if there is one. */
  private readAny(except?: Track): void {
    const track = this.microphones()
      .map((p) => p.track)
      .find((t) => t !== undefined && t !== except);
    if (track !== undefined) this.read(track);
  }

  private read(track: Track): void {
    void this.reader?.cancel().catch(() => undefined);
    const reader = new this.rtc.AudioStream(track, { sampleRate: 48_000, numChannels: 1, frameSizeMs: 10 }).getReader();
    this.reader = reader;
    this.log.info("talkback: hearing the callee's microphone in LiveKit");
    void (async () => {
      for (;;) {
        const next = await reader.read();
        if (next.done || this.reader !== reader) break;
        this.onVoice?.(next.value.data, next.value.channels);
      }
      // That microphone went away (unpublished, a device that left): another of the callee's, if any, is heard.
      if (this.reader === reader) {
        this.reader = undefined;
        if (this.onVoice !== undefined) this.readAny(track);
      }
    })().catch((err: unknown) => {
      this.log.debug({ err: errorMessage(err) }, "the callee's LiveKit audio stream ended");
    });
  }
}
