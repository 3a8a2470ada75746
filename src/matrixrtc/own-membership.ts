/**
 * The bot's own `org.matrix.msc3401.call.member` state event in one call's room: sent with every field ruma needs
 * (rtc-wire.ts), renewed before it lapses (ruma counts `expires` from `created_ts`, so the renewal keeps created_ts
 * and lengthens expires by one period), and emptied (`{}`) when the call ends. Apart from RtcCall because it is the
 * one part of the call with its own timer and its own lifetime rule; RtcCall decides when, this says how.
 */
import { errorMessage, type Logger } from "../util/logger.ts";
import type { LiveKitFocus } from "./focus.ts";
import type { RtcRoomApi } from "./rtc-room-api.ts";
import { CALL_MEMBER_TYPE, MEMBERSHIP_EXPIRES_MS, membershipContent, membershipStateKey } from "./rtc-wire.ts";

/** The membership is re-sent (same created_ts, expires one period longer) this long before it would lapse. */
const REFRESH_MARGIN_MS = 60_000;

export class OwnMembership {
  readonly stateKey: string;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly api: RtcRoomApi,
    private readonly where: { roomId: string; userId: string; deviceId: string },
    private readonly log: Logger,
    /** How long one membership lasts (and each renewal adds). */
    private readonly periodMs = MEMBERSHIP_EXPIRES_MS,
  ) {
    this.stateKey = membershipStateKey(where.userId, where.deviceId);
  }

  /** Sends the membership for `focus`; resolves with its event ID. Renewals follow until stop(). */
  send(focus: LiveKitFocus, createdTs = Date.now(), expiresMs = this.periodMs): Promise<string> {
    return this.put(focus, createdTs, expiresMs);
  }

  /** No more renewals (the call ended). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
  }

  /** Empties the membership directly (where no delayed leave did it). */
  async empty(): Promise<void> {
    await this.api.putState(this.where.roomId, CALL_MEMBER_TYPE, this.stateKey, {});
  }

  private async put(focus: LiveKitFocus, createdTs: number, expiresMs: number): Promise<string> {
    const content = membershipContent({ ...this.where, livekitServiceUrl: focus.livekitServiceUrl, createdTs, expiresMs });
    const eventId = await this.api.putState(this.where.roomId, CALL_MEMBER_TYPE, this.stateKey, content);
    const refreshIn = Math.max(createdTs + expiresMs - REFRESH_MARGIN_MS - Date.now(), 1_000);
    clearTimeout(this.refreshTimer);
    if (this.stopped) return eventId;
    this.refreshTimer = setTimeout(() => {
      if (this.stopped) return;
      this.put(focus, createdTs, expiresMs + this.periodMs).catch((err: unknown) => {
        this.log.warn({ err: errorMessage(err) }, "could not renew the call membership");
      });
    }, refreshIn);
    return eventId;
  }
}
