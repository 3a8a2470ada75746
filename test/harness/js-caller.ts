/**
 * A Matrix user placing legacy video calls with matrix-js-sdk's own createNewMatrixCall() + placeVideoCall(), the way
 * Element Web does, in Node. Its camera is the synthetic 640×360 source from webrtc-env.ts (wrtc's fake camera sends
 * no frames), its microphone wrtc's fake audio device.
 */
import type { MatrixCall, MatrixClient } from "matrix-js-sdk";
import type { CallEndInfo } from "./callee.ts";
import { harnessLog } from "./log.ts";
import { waitFor } from "./wait.ts";
import {
  loadSdkVoip,
  peerConnectionClosed,
  startSyncingClient,
  stopSyntheticVideo,
  SYNTHETIC_VIDEO_DEVICE_ID,
  type SdkClientOptions,
} from "./webrtc-env.ts";

export interface OutgoingCall {
  call: MatrixCall;
  roomId: string;
  callId: string;
  /** Resolves when the call is connected (state "connected"); rejects if it ends first. */
  connected(timeoutMs?: number): Promise<void>;
  /** Resolves when the call reaches state "ended". */
  ended(): Promise<CallEndInfo>;
  isEnded(): boolean;
  /** call.hangup(CallErrorCode.UserHangup, false) */
  hangup(): void;
}

export interface Caller {
  client: MatrixClient;
  userId: string;
  /** createNewMatrixCall(client, roomId, { invitee }) + placeVideoCall(); resolves once the invite has been sent. */
  placeVideoCall(roomId: string, opts?: { invitee?: string; timeoutMs?: number }): Promise<OutgoingCall>;
  /** Hangs up calls, stops media, stops the client. */
  stop(): Promise<void>;
}

/** Callers not yet stopped; the synthetic camera's frame pumps are stopped with the last one. */
let activeCallers = 0;

export async function startCaller(opts: SdkClientOptions): Promise<Caller> {
  const voip = await loadSdkVoip();
  const client = await startSyncingClient(opts);
  activeCallers += 1;
  const calls: OutgoingCall[] = [];
  let stopped = false;

  const wrap = (call: MatrixCall, roomId: string): OutgoingCall => {
    let endInfo: CallEndInfo | undefined;
    let resolveEnded: (info: CallEndInfo) => void = () => undefined;
    const endedPromise = new Promise<CallEndInfo>((resolve) => {
      resolveEnded = resolve;
    });
    const onState = (): void => {
      if (endInfo !== undefined || call.state !== voip.CallState.Ended) return;
      endInfo = { hangupReason: call.hangupReason, hangupParty: call.hangupParty };
      call.off(voip.CallEvent.State, onState);
      harnessLog.debug({ callId: call.callId, ...endInfo }, "caller: call ended");
      resolveEnded(endInfo);
    };
    call.on(voip.CallEvent.State, onState);
    call.on(voip.CallEvent.Error, (err) => {
      harnessLog.warn({ callId: call.callId, err: err.message, code: err.code }, "caller: call error");
    });
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
        call.hangup(voip.CallErrorCode.UserHangup, false);
      },
    };
  };

  return {
    client,
    userId: opts.userId,
    async placeVideoCall(roomId, callOpts = {}) {
      if (stopped) throw new Error("placeVideoCall() after stop()");
      // Select the synthetic camera, like picking a camera in Element's settings.
      client.getMediaHandler().restoreMediaSettings("FakeAudioDevice", SYNTHETIC_VIDEO_DEVICE_ID);
      const call = voip.createNewMatrixCall(
        client,
        roomId,
        callOpts.invitee !== undefined ? { invitee: callOpts.invitee } : undefined,
      );
      if (call === null) throw new Error("createNewMatrixCall returned null: WebRTC globals are missing");
      const outgoing = wrap(call, roomId);
      calls.push(outgoing);
      await call.placeVideoCall();
      const result = await waitFor(
        `call ${call.callId} invite to be sent`,
        () =>
          call.state === voip.CallState.InviteSent || call.state === voip.CallState.Connecting || call.state === voip.CallState.Connected
            ? "sent"
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
      }
      await Promise.all(
        calls.map(async (outgoing) => {
          await waitFor(`call ${outgoing.callId} to end`, () => outgoing.isEnded(), { timeoutMs: 5_000 }).catch(
            (err: unknown) => {
              harnessLog.warn({ err, callId: outgoing.callId }, "caller: call did not end");
            },
          );
          await peerConnectionClosed(outgoing.call).catch((err: unknown) => {
            harnessLog.warn({ err, callId: outgoing.callId }, "caller: peer connection did not close");
          });
        }),
      );
      client.getMediaHandler().stopAllStreams();
      activeCallers -= 1;
      if (activeCallers === 0) stopSyntheticVideo();
      client.stopClient();
    },
  };
}
