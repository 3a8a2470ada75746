/**
 * The bot's leave, scheduled on the homeserver (MSC4140 delayed events), so that a bot that crashes or loses its
 * network does not stay in the call as a ghost member: the empty membership `{}` is PUT with a delay (8 s) and
 * restarted every 5 s while the bot lives (js-sdk's defaults, MembershipManager.ts:406-409); if the restarts stop,
 * the homeserver sends it. Where the homeserver does not offer delayed events (`org.matrix.msc4140` missing from
 * /versions; Synapse needs `max_event_delay_duration`), arm() says so and the call leaves by sending `{}` itself.
 *
 * Synapse cancels a pending delayed state event only when someone else sets that state, so the bot's own
 * membership, sent after arm(), leaves it pending (synapse/handlers/delayed_events.py, not_from_localpart).
 */
import { errorMessage, type Logger } from "../util/logger.ts";
import { CALL_MEMBER_TYPE } from "./rtc-wire.ts";
import { errcodeOf, httpStatusOf, type RtcRoomApi } from "./rtc-room-api.ts";

export const DELAYED_LEAVE_MS = 8_000;
export const DELAYED_LEAVE_RESTART_MS = 5_000;

export interface DelayedLeaveOptions {
  delayMs?: number;
  restartMs?: number;
  /** The homeserver says the delayed leave is gone (it was sent: the bot's membership is `{}` now). */
  onLost?: (reason: string) => void;
}

export class DelayedLeave {
  private delayId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** sendNow(), cancel() or abandon() came: an arm() still on its way must not start restarting. */
  private stopped = false;
  /** The homeserver holds a delayed leave that it may still send (scheduled, and not known sent or cancelled). */
  private held = false;
  /** The restart on its way to the homeserver, if any: it can land after abandon() and delay the leave again. */
  private restarting: Promise<unknown> = Promise.resolve();
  readonly delayMs: number;
  private readonly restartMs: number;

  constructor(
    private readonly api: RtcRoomApi,
    private readonly roomId: string,
    private readonly stateKey: string,
    private readonly log: Logger,
    private readonly opts: DelayedLeaveOptions = {},
  ) {
    this.delayMs = opts.delayMs ?? DELAYED_LEAVE_MS;
    this.restartMs = opts.restartMs ?? DELAYED_LEAVE_RESTART_MS;
  }

  /** Whether a delayed leave is scheduled. */
  get armed(): boolean {
    return this.delayId !== undefined;
  }

  /** Whether the homeserver may still send a delayed leave of this call's (after abandon(), or a send that failed). */
  get pending(): boolean {
    return this.held;
  }

  /** Schedules the leave and starts restarting it; false (and nothing scheduled) where delayed events are not offered. */
  async arm(): Promise<boolean> {
    try {
      if (!(await this.api.delayedEventsOffered())) {
        this.log.info(
          "the homeserver does not offer delayed events (MSC4140): the call's leave is sent directly, so a crash would leave a ghost membership until it expires",
        );
        return false;
      }
      this.delayId = await this.api.putDelayedState(this.roomId, CALL_MEMBER_TYPE, this.stateKey, {}, this.delayMs);
      this.held = true;
    } catch (err: unknown) {
      this.log.warn({ err: errorMessage(err) }, "could not schedule the delayed leave; the call's leave is sent directly");
      return false;
    }
    if (this.stopped) {
      // The call's end gave up on this arm() (abandon()): no restarts; the leave is sent now.
      await this.sendNow();
      return false;
    }
    this.timer = setInterval(() => {
      void this.restart();
    }, this.restartMs);
    return true;
  }

  /** Sends the scheduled leave now; false when none is scheduled or the homeserver refused (then send `{}` directly). */
  async sendNow(): Promise<boolean> {
    return this.finish("send");
  }

  /** Cancels the scheduled leave (nothing to leave yet). */
  async cancel(): Promise<void> {
    await this.finish("cancel");
  }

  /** Resolves once no restart is on its way (one in flight may move the leave's time on the homeserver). */
  quiet(): Promise<void> {
    return this.restarting.then(() => undefined);
  }

  /** Stops restarting without telling the homeserver: the leave fires after the delay, as after a crash. */
  abandon(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    this.delayId = undefined;
  }

  private async restart(): Promise<void> {
    const id = this.delayId;
    if (id === undefined) return;
    const restart = this.api.updateDelayed(id, "restart");
    this.restarting = restart.catch(() => undefined);
    try {
      await restart;
    } catch (err: unknown) {
      if (this.delayId !== id) return;
      if (httpStatusOf(err) === 404 && errcodeOf(err) === "M_NOT_FOUND") {
        this.abandon();
        this.held = false;
        this.opts.onLost?.("the homeserver sent the delayed leave (the bot did not restart it in time)");
        return;
      }
      // A missed restart is not fatal: the next one is 5 s later and the delay is 8 s.
      this.log.warn({ err: errorMessage(err) }, "could not restart the delayed leave");
    }
  }

  private async finish(action: "send" | "cancel"): Promise<boolean> {
    const id = this.delayId;
    this.abandon();
    if (id === undefined) return false;
    try {
      await this.api.updateDelayed(id, action);
      this.held = false;
      return true;
    } catch (err: unknown) {
      // Not found: the homeserver has sent it already (its delay passed).
      if (httpStatusOf(err) === 404 && errcodeOf(err) === "M_NOT_FOUND") this.held = false;
      else this.log.warn({ err: errorMessage(err), action }, "could not update the delayed leave");
      return false;
    }
  }
}
