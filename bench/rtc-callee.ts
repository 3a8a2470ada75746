/**
 * The callee's MatrixRTC side, in the receiver process (bench/receiver.ts), so that its decoding is not counted as
 * the bot's CPU. It reports every rtc.notification (the MatrixRTC ring) the callee's matrix-js-sdk client receives,
 * and joins a call as test/e2e/matrixrtc-call.test.ts does (as Element X does): OpenID token → `/sfu/get` → LiveKit
 * with @livekit/rtc-node, subscribed → its own call.member. It reads the stamp (bench/stamp.ts) of every decoded
 * frame, as the legacy receiver does with wrtc's sink; samples are taken by the receiver's batch timer.
 */
import type { MatrixClient, MatrixEvent, Room as SdkRoom } from "matrix-js-sdk";
import { loadRtcNode, type RtcNode } from "../src/matrixrtc/rtc-node.ts";
import { CALL_MEMBER_TYPE, membershipStateKey, RTC_NOTIFICATION_TYPE } from "../src/matrixrtc/rtc-wire.ts";
import { requestOpenIdToken, requestSfuToken } from "../src/matrixrtc/sfu-token.ts";
import { publishLiveKitTone } from "../test/harness/livekit-tone.ts";
import { TONE_AMPLITUDE, toneMic } from "../test/harness/tone-mic.ts";
import { loadMatrixSdk } from "../test/harness/webrtc-env.ts";
import type { FromReceiver, InboundVideoStats, LoginParams, SampleBatch } from "./protocol.ts";
import { nowMs, readStamp } from "./stamp.ts";

type LkRoom = InstanceType<RtcNode["Room"]>;
type Track = ConstructorParameters<RtcNode["VideoStream"]>[0];

const MAX_PENDING_SAMPLES = 100_000;

interface Joined {
  key: string;
  room: LkRoom;
  batch: SampleBatch;
  first: boolean;
  joinStart: number;
  stopped: boolean;
}

export class RtcCallee {
  /** By Matrix room: one call per room, as the bot makes them. */
  private readonly joined = new Map<string, Joined>();
  private count = 0;
  private readonly onTimeline = (event: MatrixEvent, room: SdkRoom | undefined, toStart: boolean | undefined): void => {
    if (toStart === true || room === undefined || event.getType() !== RTC_NOTIFICATION_TYPE) return;
    this.send({ t: "rtc-ring", roomId: room.roomId, eventId: event.getId() ?? "", at: nowMs() });
  };

  private off: () => void = () => undefined;
  /** The microphone's tone (the talkback phase's `tone`): joins from then on publish it, silent until toneMic.talking. */
  private toneHz: number | undefined;

  setTone(hz: number): void {
    this.toneHz = hz;
  }

  private constructor(
    private readonly client: MatrixClient,
    private readonly login: LoginParams,
    private readonly send: (msg: FromReceiver) => void,
  ) {}

  static async attach(client: MatrixClient, login: LoginParams, send: (msg: FromReceiver) => void): Promise<RtcCallee> {
    const sdk = await loadMatrixSdk();
    const callee = new RtcCallee(client, login, send);
    client.on(sdk.RoomEvent.Timeline, callee.onTimeline);
    callee.off = () => client.off(sdk.RoomEvent.Timeline, callee.onTimeline);
    return callee;
  }

  /** Joins the call in `roomId`; resolves with the "rtc-joined" message (sent by the caller). */
  async join(roomId: string, serviceUrl: string, reqId: number): Promise<Extract<FromReceiver, { t: "rtc-joined" }>> {
    if (this.joined.has(roomId)) throw new Error(`already in the MatrixRTC call in ${roomId}`);
    // Loaded before the clock starts: loading the native module is once per process, not part of a join.
    const loaded = await loadRtcNode();
    if (!loaded.ok) throw new Error(loaded.reason);
    const rtc = loaded.rtc;
    const { baseUrl, accessToken, userId, deviceId } = this.login;
    const key = `r:${roomId}#${++this.count}`;
    const joinStart = nowMs();
    const openid = await requestOpenIdToken(baseUrl, accessToken, userId);
    const token = await requestSfuToken({ serviceUrl, roomId, deviceId, openIdToken: openid });
    const room = new rtc.Room();
    const j: Joined = {
      key,
      room,
      batch: { key, at: [], latency: [], seq: [], width: 0, height: 0 },
      first: true,
      joinStart,
      stopped: false,
    };
    this.joined.set(roomId, j);
    room.on(rtc.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind === rtc.TrackKind.KIND_VIDEO)
        this.readVideo(rtc, j, track).catch((err: unknown) => {
          this.send({ t: "error", message: `reading the MatrixRTC video in ${roomId}: ${String(err)}` });
        });
    });
    await room.connect(token.url, token.jwt, { autoSubscribe: true, dynacast: true });
    // The microphone says the tone while toneMic.talking: the legacy tone microphones' switch, whose onsets the
    // talkback phase times. A 20 ms queue, so that the tone starts when the switch says.
    if (this.toneHz !== undefined)
      await publishLiveKitTone(rtc, room, {
        hz: this.toneHz,
        amplitude: TONE_AMPLITUDE,
        queueMs: 20,
        talking: () => toneMic.talking,
        stopped: () => j.stopped,
        onError: (err) => {
          if (!j.stopped) this.send({ t: "error", message: `the MatrixRTC microphone: ${String(err)}` });
        },
      });
    const connectedAt = nowMs();
    await this.client.sendStateEvent(
      roomId,
      CALL_MEMBER_TYPE as never,
      {
        application: "m.call",
        call_id: "",
        scope: "m.room",
        device_id: deviceId,
        expires: 14_400_000,
        focus_active: { type: "livekit", focus_selection: "multi_sfu" },
        foci_preferred: [{ type: "livekit", livekit_service_url: serviceUrl, livekit_alias: roomId }],
      } as never,
      membershipStateKey(userId, deviceId),
    );
    return { t: "rtc-joined", reqId, key, joinStart, connectedAt, memberSentAt: nowMs() };
  }

  /** Leaves the call in `roomId` (membership emptied, LiveKit left), reporting the stream ended. */
  async leave(roomId: string): Promise<void> {
    const j = this.joined.get(roomId);
    if (j === undefined) return;
    this.joined.delete(roomId);
    j.stopped = true;
    try {
      await this.client.sendStateEvent(
        roomId,
        CALL_MEMBER_TYPE as never,
        {} as never,
        membershipStateKey(this.login.userId, this.login.deviceId),
      );
    } finally {
      await j.room.disconnect();
      this.send({ t: "ended", key: j.key, reason: "left" });
    }
  }

  /** The samples since the last take, one batch per joined call. */
  take(): SampleBatch[] {
    const out: SampleBatch[] = [];
    for (const j of this.joined.values()) {
      if (j.batch.at.length === 0) continue;
      out.push(j.batch);
      j.batch = { key: j.key, at: [], latency: [], seq: [], width: j.batch.width, height: j.batch.height };
    }
    return out;
  }

  /** The inbound video stats of every joined call (rtc-node's getRtcStats, the same W3C counters wrtc's give). */
  async stats(): Promise<Record<string, InboundVideoStats>> {
    const out: Record<string, InboundVideoStats> = {};
    for (const j of this.joined.values()) {
      if (j.stopped) continue;
      const session = await j.room.getRtcStats().catch(() => undefined);
      // LiveKit 1.13 runs one peer connection per participant: the inbound stats come in publisherStats (found here).
      for (const s of [...(session?.subscriberStats ?? []), ...(session?.publisherStats ?? [])]) {
        if (s.stats.case !== "inboundRtp" || s.stats.value.stream?.kind !== "video") continue;
        const i = s.stats.value.inbound;
        out[j.key] = {
          jitterBufferDelay: i?.jitterBufferDelay ?? 0,
          jitterBufferEmittedCount: Number(i?.jitterBufferEmittedCount ?? 0n),
          totalDecodeTime: i?.totalDecodeTime ?? 0,
          framesDecoded: i?.framesDecoded ?? 0,
          totalProcessingDelay: i?.totalProcessingDelay ?? 0,
          framesReceived: Number(i?.framesReceived ?? 0n),
          framesDropped: i?.framesDropped ?? 0,
          nackCount: i?.nackCount ?? 0,
          pliCount: i?.pliCount ?? 0,
          packetsLost: Number(s.stats.value.received?.packetsLost ?? 0n),
          totalAssemblyTime: i?.totalAssemblyTime ?? 0,
          framesAssembledFromMultiplePackets: Number(i?.framesAssembledFromMultiplePackets ?? 0n),
        };
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    this.off();
    for (const roomId of [...this.joined.keys()]) await this.leave(roomId).catch(() => undefined);
  }

  private async readVideo(rtc: RtcNode, j: Joined, track: Track): Promise<void> {
    const reader = new rtc.VideoStream(track).getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done || j.stopped) break;
      const at = nowMs();
      const decoded = next.value.frame;
      const frame = decoded.type === rtc.VideoBufferType.I420 ? decoded : decoded.convert(rtc.VideoBufferType.I420);
      const stamp = readStamp(frame);
      if (j.first) {
        j.first = false;
        this.send({ t: "first-frame", key: j.key, at, width: frame.width, height: frame.height, answerStart: j.joinStart });
      }
      if (j.batch.at.length >= MAX_PENDING_SAMPLES) continue;
      j.batch.at.push(at);
      j.batch.latency.push(stamp ? at - stamp.ms : Number.NaN);
      j.batch.seq.push(stamp ? stamp.seq : -1);
      j.batch.width = frame.width;
      j.batch.height = frame.height;
    }
  }
}
