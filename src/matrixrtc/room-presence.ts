/**
 * The bot's presence in one call's room: its call.member state event (own-membership.ts) and the delayed leave that
 * empties it if the bot vanishes (delayed-leave.ts), sent together; and the one way out, exit(): after the Matrix
 * request in flight, the delayed leave sent now, or `{}` put directly.
 *
 * Every call of the bot in a room writes the same state key (`_@bot_DEVICE_m.call`), so the next call in the room
 * must not send its membership while this one's leave can still land: `settled` says when nothing of this presence
 * can write to the room any more. Normally that is when exit() has finished. When the homeserver may still hold a
 * delayed leave of this call's (the call's end gave up waiting, abandon(); or sending the leave failed), it is later:
 * the requests still out have ended, and the leave the bot no longer restarts has had its delay to fire.
 */
import type { Logger } from "../util/logger.ts";
import { DelayedLeave, type DelayedLeaveOptions } from "./delayed-leave.ts";
import type { LiveKitFocus } from "./focus.ts";
import { OwnMembership } from "./own-membership.ts";
import type { RtcRoomApi } from "./rtc-room-api.ts";

/** Beyond the leave's delay, for the homeserver's scheduler to send it. */
const FIRE_MARGIN_MS = 1_000;
/**
 * settled comes by this time after the wait for it began, at the latest: matrix-bot-sdk ends a request that gets no
 * answer after 60 s, and after abandon() the leave is one request (updateDelayed's second try follows a quick 405).
 */
export const SETTLE_CAP_MS = 70_000;

/** A wait that does not keep the process alive (a shutdown does not wait for a settle). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export interface RoomPresenceOptions {
  membershipExpiresMs?: number | undefined;
  delayedLeave?: DelayedLeaveOptions | undefined;
}

export class RoomPresence {
  /** Nothing of this presence can write to the room any more (see above). */
  readonly settled: Promise<void>;
  private markSettled!: () => void;
  private readonly membership: OwnMembership;
  private readonly leave: DelayedLeave;
  private entered = false;
  /** The Matrix request the call is waiting for: exit() lets it land first, so that its leave is the last word. */
  private inflight: Promise<unknown> = Promise.resolve();
  private exiting: Promise<void> | undefined;
  private abandoned = false;
  private settling = false;

  constructor(api: RtcRoomApi, where: { roomId: string; userId: string; deviceId: string }, log: Logger, opts: RoomPresenceOptions = {}) {
    this.settled = new Promise((resolve) => {
      this.markSettled = resolve;
    });
    this.membership = new OwnMembership(api, where, log, opts.membershipExpiresMs);
    this.leave = new DelayedLeave(api, where.roomId, this.membership.stateKey, log, opts.delayedLeave);
  }

  /**
   * The delayed leave ({} held 8 s, restarted every 5 s) and the membership go out together: only another user's
   * change of that state cancels the leave (Synapse handlers/delayed_events.py), so either order is the same.
   * Resolves with the membership's event ID.
   */
  async enter(focus: LiveKitFocus): Promise<string> {
    this.entered = true;
    const arming = this.leave.arm();
    const sending = this.membership.send(focus);
    // exit() waits for both, also when the membership fails first: a leave scheduled after the exit would stay.
    this.inflight = Promise.allSettled([arming, sending]);
    const [, eventId] = await Promise.all([arming, sending]);
    return eventId;
  }

  /** A Matrix request of the call's that exit() waits for. */
  track<T>(step: Promise<T>): Promise<T> {
    this.inflight = step.catch(() => undefined);
    return step;
  }

  /** Leaves the call's room (once; a second call returns the same promise); rejects when `{}` could not be put. */
  exit(): Promise<void> {
    this.membership.stop();
    this.exiting ??= this.leaveAfterInflight();
    return this.exiting;
  }

  /**
   * The end gave up waiting for exit(): the delayed leave is no longer restarted, and `settled` waits for the
   * requests still out and the leave's delay (at most SETTLE_CAP_MS). Nothing to do once exit() has finished.
   */
  abandon(): void {
    if (this.settling || this.abandoned) return;
    this.abandoned = true;
    this.leave.abandon();
    this.settle();
  }

  private async leaveAfterInflight(): Promise<void> {
    try {
      await this.inflight;
      if (!this.entered) {
        await this.leave.cancel();
        return;
      }
      if (await this.leave.sendNow()) return;
      // Given up on, with a leave the homeserver holds: it sends that itself; a second write could land late.
      if (this.abandoned && this.leave.pending) return;
      await this.membership.empty();
    } finally {
      this.settle();
    }
  }

  /** Resolves `settled` once exit() has ended and, where the homeserver may still send a leave, its delay has passed. */
  private settle(): void {
    if (this.settling) return;
    this.settling = true;
    // The delay counts from now (the restarts have stopped) or from the last restart still on its way, whichever is later.
    const delayPassed = this.leave.quiet().then(() => pause(this.leave.delayMs + FIRE_MARGIN_MS));
    const fired = this.exit()
      .catch(() => undefined)
      .then(() => (this.leave.pending ? delayPassed : undefined));
    void Promise.race([fired, pause(SETTLE_CAP_MS)]).then(() => {
      this.markSettled();
    });
  }
}
