/**
 * A Matrix user placing legacy video calls with matrix-js-sdk's own createNewMatrixCall() + placeVideoCall(), the way
 * Element Web does, in Node. Its camera is the synthetic 640×360 source from webrtc-env.ts (wrtc's fake camera sends
 * no frames), its microphone wrtc's fake audio device. The remote video it receives (the bot's camera) is decoded and
 * counted with wrtc's nonstandard RTCVideoSink (remote-video.ts, as callee.ts does for the callee side).
 */
import type { MatrixCall, MatrixClient } from "matrix-js-sdk";
import type { CallEndInfo } from "./callee.ts";
import { harnessLog } from "./log.ts";
import { RemoteVideoCounter, remoteStreams } from "./remote-video.ts";
import { waitFor } from "./wait.ts";
import {
  loadSdkVoip,
  peerConnectionClosed,
  waitForPendingSends,
  startSyncingClient,
  stopSyntheticVideo,
  SYNTHETIC_VIDEO_DEVICE_ID,
  type I420Frame,
  type SdkClientOptions,
} from "./webrtc-env.ts";

export interface VideoCount {
  frames: number;
  width: number;
  height: number;
}

export interface OutgoingCall {
  call: MatrixCall;
  roomId: string;
  callId: string;
  /** Resolves when the call is connected (state "connected"); rejects if it ends first. */
  connected(timeoutMs?: number): Promise<void>;
  /** Resolves when the call reaches state "ended". */
  ended(): Promise<CallEndInfo>;
  isEnded(): boolean;
  /** hangup(CallErrorCode.UserHangup, false) on the live call (this one, or its successor after glare). */
  hangup(): void;
  /**
   * The call matrix-js-sdk answered instead of this one when glare resolved against it (CallEvent.Replaced: the
   * other side's invite had the lesser call ID), if any.
   */
  successor(): MatrixCall | undefined;
  /** The call that carries the media now: the successor if there is one, else this call. */
  live(): MatrixCall;
  /** Decoded remote video (the bot's camera), on this call or its successor. */
  video(): VideoCount;
  /** Copy of the last decoded I420 frame, for tests that read pixels. */
  lastFrame(): I420Frame | undefined;
  waitForFrames(n: number, timeoutMs?: number): Promise<VideoCount>;
}

export interface PlaceCallOptions {
  invitee?: string;
  timeoutMs?: number;
  /** Runs after createNewMatrixCall() (the call ID is fixed) and before placeVideoCall(), e.g. to time glare. */
  beforePlace?: (callId: string) => Promise<void>;
}

export interface Caller {
  client: MatrixClient;
  userId: string;
  /** createNewMatrixCall(client, roomId, { invitee }) + placeVideoCall(); resolves once the invite has been sent. */
  placeVideoCall(roomId: string, opts?: PlaceCallOptions): Promise<OutgoingCall>;
  /** Hangs up calls, stops media, stops the client. */
  stop(): Promise<void>;
}

/** Callers not yet stopped; the synthetic camera's frame pumps are stopped with the last one. */
let activeCallers = 0;

export interface StartCallerOptions extends SdkClientOptions {
  /** The microphone the calls use (a tone microphone: tone-mic.ts toneDeviceId); default wrtc's fake one. */
  audioDeviceId?: string;
}

export async function startCaller(opts: StartCallerOptions): Promise<Caller> {
  const voip = await loadSdkVoip();
  const client = await startSyncingClient(opts);
  activeCallers += 1;
  const calls: OutgoingCall[] = [];
  let stopped = false;

  const wrap = (call: MatrixCall, roomId: string): OutgoingCall => {
    let endInfo: CallEndInfo | undefined;
    let next: MatrixCall | undefined;
    const media = new RemoteVideoCounter();
    let resolveEnded: (info: CallEndInfo) => void = () => undefined;
    const endedPromise = new Promise<CallEndInfo>((resolve) => {
      resolveEnded = resolve;
    });
    const live = (): MatrixCall => next ?? call;
    // Counts the live call's remote video; stops once the live call has ended.
    const refreshMedia = (): void => {
      if (live().state === voip.CallState.Ended) {
        media.stop();
        return;
      }
      for (const stream of remoteStreams(live())) media.attach(stream);
    };
    const onState = (): void => {
      refreshMedia();
      if (endInfo !== undefined || call.state !== voip.CallState.Ended) return;
      endInfo = { hangupReason: call.hangupReason, hangupParty: call.hangupParty };
      harnessLog.debug({ callId: call.callId, ...endInfo }, "caller: call ended");
      resolveEnded(endInfo);
    };
    call.on(voip.CallEvent.State, onState);
    call.on(voip.CallEvent.FeedsChanged, refreshMedia);
    call.on(voip.CallEvent.Replaced, (newCall) => {
      harnessLog.debug({ callId: call.callId, successor: newCall.callId }, "caller: glare, call replaced");
      next = newCall;
      newCall.on(voip.CallEvent.State, refreshMedia);
      newCall.on(voip.CallEvent.FeedsChanged, refreshMedia);
      newCall.on(voip.CallEvent.Error, (err) => {
        harnessLog.warn({ callId: newCall.callId, err: err.message, code: err.code }, "caller: successor call error");
      });
    });
    call.on(voip.CallEvent.Error, (err) => {
      harnessLog.warn({ callId: call.callId, err: err.message, code: err.code }, "caller: call error");
    });
    const videoSnapshot = (): VideoCount => ({ frames: media.frames, width: media.width, height: media.height });
    return {
      call,
      roomId,
      get callId() {
        return call.callId;
      },
      async connected(timeoutMs = 20_000) {
        const result = await waitFor(
          `call ${call.callId} to connect`,
          () => (call.state === voip.CallState.Connected ? "connected" : endInfo !== undefined ? "ended" : undefined),
          { timeoutMs },
        );
        if (result === "ended") throw new Error(`call ${call.callId} ended before connecting: ${JSON.stringify(endInfo)}`);
      },
      ended: () => endedPromise,
      isEnded: () => endInfo !== undefined,
      hangup() {
        live().hangup(voip.CallErrorCode.UserHangup, false);
      },
      successor: () => next,
      live,
      video: videoSnapshot,
      lastFrame() {
        const last = media.last;
        return last === undefined ? undefined : { width: last.width, height: last.height, data: new Uint8Array(last.data) };
      },
      async waitForFrames(n, timeoutMs = 20_000) {
        const result = await waitFor(
          `${n} decoded frames on call ${call.callId}`,
          () => (media.frames >= n ? videoSnapshot() : live().state === voip.CallState.Ended ? ("ended" as const) : undefined),
          { timeoutMs },
        );
        if (result === "ended") throw new Error(`call ${live().callId} ended after ${media.frames} of ${n} frames`);
        return result;
      },
    };
  };

  return {
    client,
    userId: opts.userId,
    async placeVideoCall(roomId, callOpts = {}) {
      if (stopped) throw new Error("placeVideoCall() after stop()");
      // Select the synthetic camera, like picking a camera in Element's settings.
      client.getMediaHandler().restoreMediaSettings(opts.audioDeviceId ?? "FakeAudioDevice", SYNTHETIC_VIDEO_DEVICE_ID);
      const call = voip.createNewMatrixCall(client, roomId, callOpts.invitee !== undefined ? { invitee: callOpts.invitee } : undefined);
      if (call === null) throw new Error("createNewMatrixCall returned null: WebRTC globals are missing");
      const outgoing = wrap(call, roomId);
      calls.push(outgoing);
      if (callOpts.beforePlace !== undefined) await callOpts.beforePlace(call.callId);
      await call.placeVideoCall();
      const result = await waitFor(
        `call ${call.callId} invite to be sent`,
        () =>
          call.state === voip.CallState.InviteSent || call.state === voip.CallState.Connecting || call.state === voip.CallState.Connected
            ? "sent"
            : outgoing.successor() !== undefined
              ? "replaced"
              : outgoing.isEnded()
                ? "ended"
                : undefined,
        { timeoutMs: callOpts.timeoutMs ?? 15_000 },
      );
      if (result === "ended") {
        throw new Error(`call ${call.callId} ended before its invite was sent: ${call.hangupReason ?? "?"}`);
      }
      return outgoing;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const outgoing of calls) {
        if (!outgoing.isEnded()) outgoing.hangup();
        const successor = outgoing.successor();
        if (successor !== undefined && successor.state !== voip.CallState.Ended) successor.hangup(voip.CallErrorCode.UserHangup, false);
      }
      await Promise.all(
        calls.map(async (outgoing) => {
          await waitFor(`call ${outgoing.callId} to end`, () => outgoing.isEnded(), { timeoutMs: 5_000 }).catch((err: unknown) => {
            harnessLog.warn({ err, callId: outgoing.callId }, "caller: call did not end");
          });
          for (const call of [outgoing.call, outgoing.successor()]) {
            if (call === undefined) continue;
            await peerConnectionClosed(call).catch((err: unknown) => {
              harnessLog.warn({ err, callId: call.callId }, "caller: peer connection did not close");
            });
          }
        }),
      );
      client.getMediaHandler().stopAllStreams();
      activeCallers -= 1;
      if (activeCallers === 0) stopSyntheticVideo();
      await waitForPendingSends(client);
      client.stopClient();
    },
  };
}
