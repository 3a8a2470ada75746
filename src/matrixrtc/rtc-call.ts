/**
 * One MatrixRTC call of the bot in one DM (shared/notes/matrixrtc.md §1 steps 1-4 and 6, unencrypted rooms):
 * focus → LiveKit token → the bot's call.member with its delayed leave (room-presence.ts) → the room's MSC4143 slot
 * opened (if it is not) → the ring (rtc.notification) → LiveKit connects and the camera is published (start() says
 * why after the ring). Then it waits for the callee: their call.member makes the call `connected`; a decline, the
 * ring's lifetime passing with nobody joined, the callee's call.member leaving, the room no longer theirs and the bot's
 * alone (callee-events.ts), their client gone without leaving (peer-watch.ts), LiveKit gone for good
 * (livekit-publisher.ts), hangup() and shutdown end it.
 * With `join` set the user started the call and the bot joins it: the same steps without slot and ring, `connected`
 * once the membership is out and the camera published, over when the caller's device leaves.
 *
 * State: connecting → ringing → connected → ended (ended from anywhere; a joined call skips ringing). Every end goes
 * through terminate(reason), once: timers cancelled, the membership emptied, the publisher stopped (camera released),
 * `ended` emitted; `settled` once the leave can no longer land.
 */
import { EventEmitter } from "node:events";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { OnVoice } from "./livekit-voice.ts";
import type { CameraLease } from "../media/camera-hub.ts";
import { PeerWatch } from "./peer-watch.ts";
import { RoomPresence } from "./room-presence.ts";
import { END_WITHIN_MS, leaveWithin } from "./call-leave.ts";
import { openSlot, sendRing } from "./rtc-ring.ts";
import { readCalleeEvent } from "./callee-events.ts";
import type { RtcCallEvents, RtcCallOptions, RtcCallState } from "./rtc-call-types.ts";

export type { RtcCallEvents, RtcCallOptions, RtcCallState, RtcCallSteps } from "./rtc-call-types.ts";

export const RING_LIFETIME_MS = 30_000;

let calls = 0;

export class RtcCall extends EventEmitter<RtcCallEvents> {
  /** Names the call in logs and talkback (MatrixRTC has no call ID of its own). */
  readonly callId = `rtc-${String(++calls)}`;
  private current: RtcCallState = "connecting";
  private endReason: string | undefined;
  private endedByFailure = false;
  /** The bot's call.member and delayed leave in the room. */
  private readonly presence: RoomPresence;
  private readonly log: Logger;
  private notificationEventId: string | undefined;
  /** The other party's joined devices, and whether their client is still there. */
  private readonly peers: PeerWatch;
  private ringTimer: NodeJS.Timeout | undefined;
  private ended: Promise<void> | undefined;

  constructor(private readonly opts: RtcCallOptions) {
    super();
    this.log = opts.log.child({ component: "rtc-call", room: opts.roomId, callee: opts.callee, joined: opts.join !== undefined });
    const where = { roomId: opts.roomId, userId: opts.userId, deviceId: opts.deviceId };
    this.presence = new RoomPresence(opts.api, where, this.log, {
      membershipExpiresMs: opts.membershipExpiresMs,
      delayedLeave: {
        ...opts.delayedLeave,
        onLost: (reason) => {
          void this.fail(reason);
        },
      },
    });
    opts.publisher.on("ended", (reason) => {
      void this.fail(`LiveKit publisher ended: ${reason}`);
    });
    this.peers = new PeerWatch({
      callee: opts.callee,
      log: this.log,
      graceMs: opts.peerGraceMs,
      onGone: (reason) => {
        void this.terminate(reason);
      },
    });
    this.peers.follow(opts.publisher);
    // A joined call starts with the caller's device in it.
    if (opts.join !== undefined) this.peers.memberJoined(opts.join.callerStateKey, opts.join.callerDeviceId, opts.join.expiresAt);
  }

  get state(): RtcCallState {
    return this.current;
  }

  get roomId(): string {
    return this.opts.roomId;
  }

  /** The ring's event ID, once sent. */
  get notificationId(): string | undefined {
    return this.notificationEventId;
  }

  /** Resolves once nothing of this call can write its membership any more (room-presence.ts): the room's next call waits for it. */
  get settled(): Promise<void> {
    return this.presence.settled;
  }

  /** Why the call ended, once it has. */
  get reason(): string | undefined {
    return this.endReason;
  }

  /** Whether it ended by a failure (a step, LiveKit, the leave lost), not by a person, the ring's end or shutdown. */
  get failed(): boolean {
    return this.endedByFailure;
  }

  /**
   * Places the call (or joins it); resolves once it rings (or is joined) and publishes, or has ended. The ring waits
   * for the token, then the delayed leave, membership and slot together; LiveKit connects only once the ring is out,
   * because beside the Matrix steps its connect took CPU the homeserver's requests waited for (bench `matrixrtc`,
   * 7 calls each: !call → the callee has the ring 295 → 185 ms median; first frame after an instant join 374 → 493
   * ms, target 700; a person answers seconds later). A joined call's caller is waiting: LiveKit connects beside the
   * membership. A failed step or publish ends the call through the one end path.
   */
  async start(): Promise<void> {
    const started = Date.now();
    const ms: Record<string, number> = {};
    const mark = (step: string): number => (ms[step] = Date.now() - started);
    try {
      const focus = await this.opts.steps.focus();
      const token = await this.opts.steps.token(focus);
      if (this.isEnded()) return;
      mark("token");
      const publish = (): Promise<void> =>
        this.opts.publisher.start(token.url, token.jwt).then(
          () => void mark("published"),
          (err: unknown) => this.fail(`could not start: ${errorMessage(err)}`),
        );
      const joining = this.opts.join !== undefined ? publish() : undefined;
      const slot = joining === undefined ? openSlot(this.opts.api, this.opts.roomId, this.log) : Promise.resolve();
      const membershipEventId = await this.presence.enter(focus);
      mark("member");
      if (this.isEnded()) return;
      if (joining !== undefined) {
        await joining;
        if (this.isEnded()) return;
        this.setState("connected");
        this.log.info({ focus: focus.source, ms }, "joined the caller's MatrixRTC call");
        return;
      }
      await slot;
      if (this.isEnded()) return;
      const lifetimeMs = this.opts.ringLifetimeMs ?? RING_LIFETIME_MS;
      const ring = { roomId: this.opts.roomId, callee: this.opts.callee, membershipEventId, lifetimeMs };
      this.notificationEventId = await this.presence.track(sendRing(this.opts.api, ring));
      if (this.isEnded()) return;
      mark("ring");
      this.opts.onRing?.();
      const publishing = publish();
      // The callee may have joined before the ring's echo: then the call is connected already.
      if (this.current === "connecting") this.setState("ringing");
      if (this.current === "ringing")
        this.ringTimer = setTimeout(() => {
          void this.terminate("nobody answered the ring");
        }, lifetimeMs);
      await publishing;
      if (this.isEnded()) return;
      this.log.info({ focus: focus.source, state: this.current, ms }, "MatrixRTC call ringing");
    } catch (err: unknown) {
      await this.fail(`could not start: ${errorMessage(err)}`);
    }
  }

  /** A room event of the call's room, as the sync delivers it (callee-events.ts); anything malformed is logged and ignored. */
  handleRoomEvent(raw: unknown): void {
    if (this.isEnded()) return;
    const ev = readCalleeEvent(raw, { callee: this.opts.callee, bot: this.opts.userId }, Date.now());
    switch (ev.kind) {
      case "malformed":
        this.log.warn({ eventId: ev.eventId, reason: ev.reason }, ev.what);
        return;
      case "declined":
        if (this.notificationEventId !== undefined && ev.ring === this.notificationEventId) void this.terminate("declined");
        return;
      case "joined":
        this.onCalleeJoined(ev.stateKey, ev.deviceId, ev.expiresAt);
        return;
      case "left":
        // The last of the other party's devices left: over, in either direction and whatever the state.
        if (this.peers.memberLeft(ev.stateKey) && this.peers.memberCount === 0)
          void this.terminate(this.opts.join !== undefined ? "the caller left" : "the callee left");
        return;
      case "room-changed":
        void this.terminate(ev.reason);
        return;
      case "other":
        return;
    }
  }

  hangup(): Promise<void> {
    return this.terminate("hung up");
  }

  /** Publishes another camera from now on (`!switch`); the old lease is released. */
  switchCamera(lease: CameraLease): Promise<void> {
    return this.opts.publisher.switchTo(lease).then(() => {
      this.emit("camera", lease.camera);
    });
  }

  /** The camera the call shows now. */
  get camera(): string {
    return this.opts.publisher.camera;
  }

  /** Talkback: the callee's microphone in LiveKit (livekit-voice.ts). */
  listenToCallee(onAudio: OnVoice): { stop(): void } {
    return this.opts.publisher.listen(this.opts.callee, onAudio);
  }

  /** Ends the call (idempotent; every later call returns the same promise). */
  terminate(reason: string): Promise<void> {
    this.ended ??= this.end(reason);
    return this.ended;
  }

  private fail(reason: string): Promise<void> {
    if (!this.isEnded()) this.endedByFailure = true;
    return this.terminate(reason);
  }

  private isEnded(): boolean {
    return this.current === "ended";
  }

  private setState(next: RtcCallState): void {
    if (this.current === next) return;
    this.current = next;
    this.emit("state", next);
  }

  private onCalleeJoined(stateKey: string, deviceId: string, expiresAt: number): void {
    this.peers.memberJoined(stateKey, deviceId, expiresAt);
    // A joined call is connected by its own start(), not by the caller's (re-sent) membership.
    if (this.opts.join === undefined && (this.current === "connecting" || this.current === "ringing")) {
      clearTimeout(this.ringTimer);
      this.setState("connected");
      this.log.info({ device: deviceId }, "the callee joined the MatrixRTC call");
    }
  }

  private async end(reason: string): Promise<void> {
    const from = this.current;
    this.endReason = reason;
    this.setState("ended");
    clearTimeout(this.ringTimer);
    this.peers.stop();
    await leaveWithin(this.presence, this.opts.publisher, this.opts.endWithinMs ?? END_WITHIN_MS, this.log);
    this.log.info({ reason, from }, "MatrixRTC call ended");
    this.emit("ended", reason);
  }
}
