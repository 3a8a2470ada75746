/**
 * A Matrix user answering legacy m.call.* calls with matrix-js-sdk's MatrixCall — the code Element Web runs — in
 * Node, with @roamhq/wrtc as its WebRTC. Remote media is decoded and counted with wrtc's nonstandard sinks.
 */
import type { MatrixCall, MatrixClient, MatrixEvent, Room } from "matrix-js-sdk";
import { harnessLog } from "./log.ts";
import { RemoteVideoCounter, remoteStreams } from "./remote-video.ts";
import { waitFor } from "./wait.ts";
import {
  loadMatrixSdk,
  loadSdkVoip,
  peerConnectionClosed,
  waitForPendingSends,
  startSyncingClient,
  wrtc,
  type SdkClientOptions,
  type WrtcAudioSink,
  type WrtcStream,
  type WrtcTrack,
} from "./webrtc-env.ts";

export { remoteStreams } from "./remote-video.ts";

export interface CallEndInfo {
  hangupReason: string | undefined;
  hangupParty: string | undefined;
}

export interface IncomingCall {
  call: MatrixCall;
  roomId: string;
  callId: string;
  /** call.answer(): video+audio, mirroring the offer. */
  answer(): Promise<void>;
  /** call.reject() */
  reject(): void;
  /**
   * call.hangup(CallErrorCode.UserHangup, false); with `{ silent: true }` the call ends on this side without its
   * hangup event, as when the device goes away (a callee about to leave the room: matrix-js-sdk would otherwise send
   * its ICE-failed hangup after the leave, into a room it can no longer send to).
   */
  hangup(opts?: { silent?: boolean }): void;
  /** Resolves when the call reaches state "ended". */
  ended(): Promise<CallEndInfo>;
  isEnded(): boolean;
  /** Decoded remote video, counted with wrtc nonstandard.RTCVideoSink on the remote feed's video track. */
  video(): { frames: number; width: number; height: number };
  /** Copy of the last decoded I420 frame, for tests that read pixels. */
  lastFrame(): { width: number; height: number; data: Uint8Array } | undefined;
  /** Remote audio, counted with nonstandard.RTCAudioSink: number of ondata callbacks and samples seen. */
  audio(): { chunks: number; samples: number; sampleRate: number; audible: number };
  waitForFrames(n: number, timeoutMs?: number): Promise<{ frames: number; width: number; height: number }>;
  waitForAudio(timeoutMs?: number): Promise<void>;
}

export interface CallEventRecord {
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

export interface Callee {
  client: MatrixClient;
  userId: string;
  /** The next call that rings (calls that rang before this is called are queued). */
  nextIncomingCall(timeoutMs?: number): Promise<IncomingCall>;
  incomingCallCount(): number;
  /** Raw contents of every m.call.* event seen in a room's timeline, in order, from any sender, with type and sender. */
  callEvents(roomId: string): CallEventRecord[];
  /** Bodies of m.room.message events from `sender` (default: anyone) in the room, in order. */
  messages(roomId: string, sender?: string): string[];
  /** Hangs up calls, stops sinks, stops the client. */
  stop(): Promise<void>;
}

export interface StartCalleeOptions extends SdkClientOptions {
  /** Join rooms this user is invited to (as a user would by accepting the invite). Default false. */
  autoJoin?: boolean;
}

const DEFAULT_RING_TIMEOUT_MS = 30_000;
const DEFAULT_MEDIA_TIMEOUT_MS = 20_000;

/** Decodes and counts a call's remote media (its video as the caller does, and its audio); everything is stopped once the call ends. */
class RemoteMediaCounter extends RemoteVideoCounter {
  chunks = 0;
  samples = 0;
  sampleRate = 0;
  /** Chunks that carried the camera's tone (peak above 1000), not silence. */
  audible = 0;
  private readonly audioSinks = new Map<string, { sink: WrtcAudioSink; track: WrtcTrack }>();

  override attach(stream: WrtcStream | undefined): void {
    if (this.stopped || stream === undefined) return;
    super.attach(stream);
    for (const track of stream.getAudioTracks()) {
      if (this.audioSinks.has(track.id) || track.readyState === "ended") continue;
      const sink = new wrtc.nonstandard.RTCAudioSink(track);
      sink.ondata = (data) => {
        this.chunks += 1;
        this.samples += data.samples.length;
        let peak = 0;
        for (const v of data.samples) if (Math.abs(v) > peak) peak = Math.abs(v);
        // The test cameras send a steady tone (amplitude ~6500); silence decodes to next to nothing.
        if (peak > 1000) this.audible += 1;
        this.sampleRate = data.sampleRate;
      };
      this.audioSinks.set(track.id, { sink, track });
    }
  }

  override stop(): void {
    if (this.stopped) return;
    super.stop();
    for (const { sink, track } of this.audioSinks.values()) {
      sink.ondata = null;
      if (!sink.stopped) sink.stop();
      if (track.readyState !== "ended") track.stop();
    }
    this.audioSinks.clear();
  }
}

/** Wraps a ringing MatrixCall. */
function wrapIncoming(call: MatrixCall, voip: Awaited<ReturnType<typeof loadSdkVoip>>): IncomingCall {
  const media = new RemoteMediaCounter();
  let endInfo: CallEndInfo | undefined;
  let resolveEnded: (info: CallEndInfo) => void = () => undefined;
  const endedPromise = new Promise<CallEndInfo>((resolve) => {
    resolveEnded = resolve;
  });
  const refresh = (): void => {
    if (endInfo !== undefined) return;
    if (call.state === voip.CallState.Ended) {
      endInfo = { hangupReason: call.hangupReason, hangupParty: call.hangupParty };
      media.stop();
      call.off(voip.CallEvent.FeedsChanged, refresh);
      call.off(voip.CallEvent.State, refresh);
      harnessLog.debug({ callId: call.callId, ...endInfo }, "callee: call ended");
      resolveEnded(endInfo);
      return;
    }
    for (const stream of remoteStreams(call)) media.attach(stream);
  };
  call.on(voip.CallEvent.FeedsChanged, refresh);
  call.on(voip.CallEvent.State, refresh);
  // MatrixCall throws from emit("error") without a listener; errors end the call, which ended() reports.
  call.on(voip.CallEvent.Error, (err) => {
    harnessLog.warn({ callId: call.callId, err: err.message, code: err.code }, "callee: call error");
  });
  refresh();

  const videoSnapshot = (): { frames: number; width: number; height: number } => ({
    frames: media.frames,
    width: media.width,
    height: media.height,
  });

  return {
    call,
    roomId: call.roomId,
    callId: call.callId,
    async answer() {
      await call.answer();
      refresh();
    },
    reject() {
      call.reject();
    },
    hangup(opts) {
      call.hangup(voip.CallErrorCode.UserHangup, opts?.silent === true);
    },
    ended: () => endedPromise,
    isEnded: () => endInfo !== undefined,
    video: videoSnapshot,
    lastFrame() {
      const last = media.last;
      if (last === undefined) return undefined;
      return { width: last.width, height: last.height, data: new Uint8Array(last.data) };
    },
    audio: () => ({ chunks: media.chunks, samples: media.samples, sampleRate: media.sampleRate, audible: media.audible }),
    async waitForFrames(n, timeoutMs = DEFAULT_MEDIA_TIMEOUT_MS) {
      const result = await waitFor(
        `${n} decoded frames on call ${call.callId}`,
        () => {
          if (media.frames >= n) return videoSnapshot();
          if (endInfo !== undefined) return "ended" as const;
          return undefined;
        },
        { timeoutMs },
      );
      if (result === "ended") {
        throw new Error(`call ${call.callId} ended (${JSON.stringify(endInfo)}) after ${media.frames} of ${n} frames`);
      }
      return result;
    },
    async waitForAudio(timeoutMs = DEFAULT_MEDIA_TIMEOUT_MS) {
      const result = await waitFor(
        `remote audio on call ${call.callId}`,
        () => (media.chunks > 0 ? "audio" : endInfo !== undefined ? "ended" : undefined),
        { timeoutMs },
      );
      if (result === "ended") throw new Error(`call ${call.callId} ended (${JSON.stringify(endInfo)}) before any audio`);
    },
  };
}

export async function startCallee(opts: StartCalleeOptions): Promise<Callee> {
  const sdk = await loadMatrixSdk();
  const voip = await loadSdkVoip();

  const calls: IncomingCall[] = [];
  const queue: IncomingCall[] = [];
  const waiters: ((call: IncomingCall) => void)[] = [];
  const events = new Map<string, MatrixEvent[]>();
  const seen = new WeakSet<MatrixEvent>();
  let stopped = false;

  const onTimeline = (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined): void => {
    if (toStartOfTimeline === true || room === undefined || seen.has(event)) return;
    seen.add(event);
    const list = events.get(room.roomId) ?? [];
    list.push(event);
    events.set(room.roomId, list);
  };

  const onIncoming = (call: MatrixCall): void => {
    if (stopped) return;
    const incoming = wrapIncoming(call, voip);
    calls.push(incoming);
    harnessLog.debug({ callId: call.callId, roomId: call.roomId, userId: opts.userId }, "callee: incoming call");
    const waiter = waiters.shift();
    if (waiter !== undefined) waiter(incoming);
    else queue.push(incoming);
  };

  const onMembership = (room: Room, membership: string): void => {
    if (opts.autoJoin !== true || stopped || membership !== "invite") return;
    room.client.joinRoom(room.roomId).catch((err: unknown) => {
      harnessLog.warn({ err, roomId: room.roomId }, "callee: auto-join failed");
    });
  };

  // Listeners go on before the first sync so that nothing between it and our return is missed.
  const client: MatrixClient = await startSyncingClient(opts, (c) => {
    c.on(sdk.RoomEvent.Timeline, onTimeline);
    c.on(voip.CallEventHandlerEvent.Incoming, onIncoming);
    c.on(sdk.RoomEvent.MyMembership, onMembership);
  });

  const eventsOf = (roomId: string): MatrixEvent[] => events.get(roomId) ?? [];

  return {
    client,
    userId: opts.userId,
    nextIncomingCall(timeoutMs = DEFAULT_RING_TIMEOUT_MS) {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise<IncomingCall>((resolve, reject) => {
        const waiter = (call: IncomingCall): void => {
          clearTimeout(timer);
          resolve(call);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i !== -1) waiters.splice(i, 1);
          reject(new Error(`${opts.userId}: no call rang within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    incomingCallCount: () => calls.length,
    callEvents(roomId) {
      return eventsOf(roomId)
        .filter((e) => e.getType().startsWith("m.call."))
        .map((e) => ({ type: e.getType(), sender: e.getSender() ?? "", content: e.getContent<Record<string, unknown>>() }));
    },
    messages(roomId, sender) {
      return eventsOf(roomId)
        .filter((e) => e.getType() === "m.room.message" && (sender === undefined || e.getSender() === sender))
        .map((e) => {
          const body: unknown = e.getContent()["body"];
          return typeof body === "string" ? body : "";
        });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.off(voip.CallEventHandlerEvent.Incoming, onIncoming);
      client.off(sdk.RoomEvent.MyMembership, onMembership);
      for (const incoming of calls) {
        if (!incoming.isEnded()) incoming.hangup();
      }
      await Promise.all(
        calls.map(async (incoming) => {
          await waitFor(`call ${incoming.callId} to end`, () => incoming.isEnded(), { timeoutMs: 5_000 }).catch((err: unknown) => {
            harnessLog.warn({ err, callId: incoming.callId }, "callee: call did not end");
          });
          await peerConnectionClosed(incoming.call).catch((err: unknown) => {
            harnessLog.warn({ err, callId: incoming.callId }, "callee: peer connection did not close");
          });
        }),
      );
      client.getMediaHandler().stopAllStreams();
      await waitForPendingSends(client);
      client.stopClient();
      client.off(sdk.RoomEvent.Timeline, onTimeline);
    },
  };
}
