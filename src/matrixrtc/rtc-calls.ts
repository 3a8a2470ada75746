/**
 * The bot's MatrixRTC calls in progress, one per room: places them (rtc-call.ts), joins the ones users start
 * (`join`: the same RtcCall without a ring), feeds each its room's events, switches its camera on `!switch`, ends one
 * on `!hangup` and all on shutdown, and answers admission's questions about them (an RtcCall is a call in progress:
 * it makes its room busy and counts towards `calls.maxConcurrent`).
 *
 * Every way a call cannot be placed or joined becomes one sentence for the user (`{ ok: false, text }`), never a
 * throw: @livekit/rtc-node missing on this platform, an encrypted DM (per-participant media keys are not built yet:
 * docs/matrixrtc.md), no focus, a start that failed.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CameraLease } from "../media/camera-hub.ts";
import type { CallEncodeFigures } from "../media/encode-speed-watch.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { LeavingRooms } from "./leaving-rooms.ts";
import { ChildPublisher } from "./child-publisher.ts";
import { LiveKitHost } from "./livekit-host.ts";
import type { CallPublisher } from "./livekit-types.ts";
import { RtcCall, type RtcCallOptions } from "./rtc-call.ts";
import type { IncomingCall } from "./incoming-membership.ts";
import { HomeserverSteps, joinSteps } from "./rtc-call-steps.ts";
import { unavailableMessage } from "./rtc-node.ts";
import { RtcRoomApi } from "./rtc-room-api.ts";
import { startFailureText } from "./start-failure-text.ts";

export interface RtcCallsDeps {
  client: Pick<MatrixClient, "doRequest" | "getRoomStateEvent">;
  homeserverUrl: string;
  accessToken: string;
  userId: string;
  deviceId: string | undefined;
  /** matrixRtc.livekitServiceUrl. */
  livekitServiceUrl?: string | undefined;
  hub: { acquire(camera: string): CameraLease };
  log: Logger;
  /** Where the calls' LiveKit side runs (livekit-host.ts); tests give their own (a platform without rtc-node). */
  liveKit?: Pick<LiveKitHost, "open" | "unavailableReason" | "stop" | "residentBytes">;
  /** Each call as it is made, before it starts (talkback follows it from there). */
  onCall?: (call: RtcCall) => void;
  /** Tests: shorter rings, delayed leaves and end bounds. */
  callOptions?: Pick<RtcCallOptions, "ringLifetimeMs" | "delayedLeave" | "endWithinMs">;
}

export type RtcPlaced = { ok: true; call: RtcCall } | { ok: false; text: string };

export const ENCRYPTED_ROOM_TEXT =
  "MatrixRTC calls cannot be placed in an encrypted chat yet (the media keys they need are not built): use an unencrypted direct chat with me, or !ring legacy.";
export const ENCRYPTED_JOIN_TEXT =
  "This chat is encrypted, and I can't join encrypted MatrixRTC calls yet (the media keys they need are not built): call me from an unencrypted direct chat with me, or type !ring legacy and !call <camera>.";

export type SwitchResult = "switched" | "no_call" | "not_yours" | "same_camera";

interface Entry {
  call: RtcCall;
  publisher: CallPublisher;
  camera: string;
  /** The other party: who was rung, or who called. */
  callee: string;
}

/** A call to place (ring `callee`) or to join (the caller's `incoming` call). */
type Opening = { kind: "place"; callee: string; ringLifetimeMs?: number; onRing?: () => void } | { kind: "join"; incoming: IncomingCall };

export class RtcCalls {
  private readonly byRoom = new Map<string, Entry>();
  /** Ended calls whose leave may still land: the room's next call waits for them. */
  private readonly leaving = new LeavingRooms();
  private stopping = false;
  /** One for all calls: it keeps the homeserver's /versions answer between them. */
  private readonly api: RtcRoomApi;
  /** One for all calls: it keeps the focus and the OpenID token between them. */
  private readonly home: HomeserverSteps | undefined;
  /** The LiveKit processes the calls run in (rtc-node's memory goes with them). */
  private readonly liveKit: Pick<LiveKitHost, "open" | "unavailableReason" | "stop" | "residentBytes">;

  constructor(private readonly deps: RtcCallsDeps) {
    this.liveKit = deps.liveKit ?? new LiveKitHost(deps.log.child({ component: "livekit-host" }));
    this.api = new RtcRoomApi(deps.client.doRequest.bind(deps.client));
    const { homeserverUrl, accessToken, userId, deviceId, livekitServiceUrl } = deps;
    this.home =
      deviceId === undefined
        ? undefined
        : new HomeserverSteps({
            homeserverUrl,
            accessToken,
            userId,
            deviceId,
            ...(livekitServiceUrl !== undefined ? { configured: livekitServiceUrl } : {}),
          });
  }

  /** Asks now what every call waits for before its ring (/versions, the focus, the OpenID token), so the first does not. */
  warm(): void {
    void Promise.all([this.api.delayedEventsOffered(), this.home?.warm()]).catch((err: unknown) => {
      this.deps.log.debug({ err: errorMessage(err) }, "could not ask the homeserver ahead of a call (the call will ask)");
    });
  }

  /** The LiveKit process's resident memory, for /metrics (0 while none runs). */
  liveKitResidentBytes(): number {
    return this.liveKit.residentBytes();
  }

  get count(): number {
    return this.byRoom.size;
  }

  callInRoom(roomId: string): RtcCall | undefined {
    return this.byRoom.get(roomId)?.call;
  }

  /**
   * Places a call (already admitted) and resolves once it rings, or with the sentence that says why it cannot.
   * `ringLifetimeMs`: a doorbell's ring lasts as long as its round (calls.inviteLifetimeMs from the press); `onRing`:
   * told once the homeserver has the ring, before LiveKit connects and this resolves.
   */
  place(roomId: string, callee: string, camera: string, opts: { ringLifetimeMs?: number; onRing?: () => void } = {}): Promise<RtcPlaced> {
    return this.open(roomId, camera, { kind: "place", callee, ...opts });
  }

  /** Joins the call `incoming` started (already admitted); resolves once joined, or with the sentence that says why not. */
  join(roomId: string, incoming: IncomingCall, camera: string): Promise<RtcPlaced> {
    return this.open(roomId, camera, { kind: "join", incoming });
  }

  private async open(roomId: string, camera: string, how: Opening): Promise<RtcPlaced> {
    const verb = how.kind === "place" ? "placed" : "joined";
    const deviceId = this.deps.deviceId;
    if (this.home === undefined || deviceId === undefined)
      return {
        ok: false,
        text: "MatrixRTC calls need the bot's device ID, and its login has none: log it in with a password (homeserver.user).",
      };
    const unavailable = this.liveKit.unavailableReason();
    if (unavailable !== undefined) return { ok: false, text: `${unavailableMessage(unavailable)}.` };
    try {
      if (await this.encrypted(roomId)) return { ok: false, text: how.kind === "place" ? ENCRYPTED_ROOM_TEXT : ENCRYPTED_JOIN_TEXT };
    } catch (err: unknown) {
      return { ok: false, text: `MatrixRTC call not ${verb}: could not read the room's encryption state (${errorMessage(err)}).` };
    }
    const log = this.deps.log.child({ camera });
    // Rare (a homeserver that held the last call's leave past its end): before the camera is started for this call.
    const waitedMs = await this.leaving.settled(roomId, () => {
      log.info({ room: roomId }, "waiting for the room's last MatrixRTC call to finish leaving");
    });
    // After the awaits: a shutdown or another call in this room may have come meanwhile.
    if (this.stopping) return { ok: false, text: "Shutting down: no new calls." };
    if (this.byRoom.has(roomId)) return { ok: false, text: "A call is already in progress here. Type !hangup to end it first." };
    // A doorbell's ring lasts until its round ends, waited time included.
    const ringLifetimeMs = how.kind === "place" && how.ringLifetimeMs !== undefined ? how.ringLifetimeMs - waitedMs : undefined;
    if (ringLifetimeMs !== undefined && ringLifetimeMs <= 0)
      return { ok: false, text: "MatrixRTC call not placed: the last call in this room was still leaving when the ring's time ran out." };
    const callee = how.kind === "place" ? how.callee : how.incoming.caller;
    const home = this.home.forRoom(roomId);
    // The LiveKit process (started now if none is running: 0.28 s) is needed once the ring is out (rtc-call.ts).
    const publisher = new ChildPublisher(this.liveKit, this.deps.hub.acquire(camera), log, camera, { camera, room: roomId });
    const call = new RtcCall({
      api: this.api,
      steps:
        how.kind === "place"
          ? home
          : joinSteps(home, how.incoming.focus, (err) => {
              log.warn({ err: errorMessage(err) }, "the caller's focus gave the bot no token: joining on the bot's own focus");
            }),
      publisher,
      roomId,
      userId: this.deps.userId,
      deviceId,
      callee,
      log,
      ...this.deps.callOptions,
      ...(how.kind === "join"
        ? { join: { callerStateKey: how.incoming.stateKey, callerDeviceId: how.incoming.deviceId, expiresAt: how.incoming.expiresAt } }
        : {}),
      ...(ringLifetimeMs !== undefined ? { ringLifetimeMs } : {}),
      ...(how.kind === "place" && how.onRing !== undefined ? { onRing: how.onRing } : {}),
    });
    const entry: Entry = { call, publisher, camera, callee };
    this.byRoom.set(roomId, entry);
    this.deps.onCall?.(call);
    call.once("ended", (reason) => {
      if (this.byRoom.get(roomId) === entry) this.byRoom.delete(roomId);
      this.leaving.add(roomId, call.settled);
      log.info({ room: roomId, callee, reason }, "MatrixRTC call finished");
    });
    await call.start();
    // Ended by a person (a decline while LiveKit still connected, a hangup) or shutdown during start: no failure to tell.
    if (!call.failed) return { ok: true, call };
    const text = startFailureText(call.reason ?? "unknown", verb);
    // LiveKit connects after the ring (rtc-call.ts): a failure there ends a call that has rung.
    return { ok: false, text: call.notificationId !== undefined ? `${text} The ring was withdrawn.` : text };
  }

  /** A room event as the sync delivers it: to that room's call (which parses it); false when the room has none. */
  roomEvent(roomId: string, raw: unknown): boolean {
    const entry = this.byRoom.get(roomId);
    entry?.call.handleRoomEvent(raw);
    return entry !== undefined;
  }

  /** The other party of the call in the room, while there is one. */
  calleeIn(roomId: string): string | undefined {
    return this.byRoom.get(roomId)?.callee;
  }

  /** Whether the room has a call, or an ended call whose leave may still land (alone-rooms.ts waits for it). */
  busyIn(roomId: string): boolean {
    return this.byRoom.has(roomId) || this.leaving.has(roomId);
  }

  /** The bot left the room or was removed from it: its call there is over (its leave may fail: it lapses). */
  roomLeft(roomId: string): void {
    void this.byRoom.get(roomId)?.call.terminate("the bot left the room");
  }

  /** `!switch <camera>` from `by` (a camera they may use): only the call's other party may switch it. */
  async switchRoom(roomId: string, camera: string, by: string): Promise<SwitchResult> {
    const entry = this.byRoom.get(roomId);
    if (entry === undefined || entry.call.state === "ended") return "no_call";
    if (entry.callee !== by) return "not_yours";
    if (entry.camera === camera) return "same_camera";
    await entry.call.switchCamera(this.deps.hub.acquire(camera));
    entry.camera = camera;
    return "switched";
  }

  /** `!hangup` from `by`: only the call's callee may end it. */
  hangupRoom(roomId: string, by: string): "ended" | "no_call" | "not_yours" {
    const entry = this.byRoom.get(roomId);
    if (entry === undefined) return "no_call";
    if (entry.callee !== by) return "not_yours";
    void entry.call.hangup();
    return "ended";
  }

  /** Shutdown: no new call, every call ended (its membership emptied). */
  async terminateAll(reason: string): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.byRoom.values()].map((e) => e.call.terminate(reason)));
    await this.liveKit.stop();
  }

  /** Every call's video encoder figures (none for a call whose video is not published yet), for the encode budget's speed watch. */
  encodeFigures(): Promise<CallEncodeFigures[]> {
    return Promise.all(
      [...this.byRoom.values()].map(({ call: { callId }, publisher }) =>
        publisher.videoEncode().then(
          (video) => ({ callId, video }),
          () => ({ callId, video: undefined }),
        ),
      ),
    );
  }

  /** `!status` lines: the viewer's own calls by camera and state; others only counted. */
  statusLines(viewer: string): string[] {
    const entries = [...this.byRoom.values()];
    const own = entries.filter((e) => e.callee === viewer).map((e) => `MatrixRTC call: ${e.camera} (${e.call.state})`);
    const others = entries.length - own.length;
    return others > 0 ? [...own, `Other MatrixRTC calls: ${String(others)}`] : own;
  }

  private async encrypted(roomId: string): Promise<boolean> {
    try {
      await this.deps.client.getRoomStateEvent(roomId, "m.room.encryption", "");
      return true;
    } catch (err: unknown) {
      const e = err as { errcode?: unknown; statusCode?: unknown } | null;
      if (e?.errcode === "M_NOT_FOUND" || e?.statusCode === 404) return false;
      throw err;
    }
  }
}
