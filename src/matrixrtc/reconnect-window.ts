/**
 * How long the publisher's link to LiveKit may be down while rtc-node reconnects by itself (a resume, or a full
 * reconnect that re-publishes the local tracks). rtc-node gives up only after 10 attempts with backoff, which can
 * take longer than anyone watches a frozen picture: past the window the publisher ends, and the call with it.
 */
import type { Logger } from "../util/logger.ts";

/**
 * livekit-server killed and started again: rtc-node's full reconnect (backoff from 300 ms, doubling, jittered) was
 * back 0.9 s after the server answered, and the callee decoded the camera again 1.5 s after the kill
 * (test/e2e/matrixrtc-faults). A server that is not back within 20 s is not restarting; the call ends cleanly
 * instead of showing a frozen picture for rtc-node's 10 attempts.
 */
export const RECONNECT_WINDOW_MS = 20_000;

export class ReconnectWindow {
  private down: { since: number; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly log: Logger,
    /** The window passed with the link still down (called at most once per outage). */
    private readonly onExpired: (reason: string) => void,
  ) {}

  /** rtc-node started reconnecting; false when the link was already down. */
  lost(): boolean {
    if (this.down !== undefined) return false;
    const timer = setTimeout(() => {
      this.onExpired(`LiveKit did not come back within ${String(Math.round(this.windowMs / 1000))} s`);
    }, this.windowMs);
    this.down = { since: Date.now(), timer };
    this.log.warn({ windowMs: this.windowMs }, "lost the link to LiveKit: reconnecting");
    return true;
  }

  /** rtc-node reconnected; false when the link was not down. */
  back(): boolean {
    if (this.down === undefined) return false;
    clearTimeout(this.down.timer);
    this.log.info({ afterMs: Date.now() - this.down.since }, "reconnected to LiveKit");
    this.down = undefined;
    return true;
  }

  /** While the link is down rtc-node's Disconnected means it gave up (its 10 attempts): the reason to give then. */
  gaveUpReason(): string | undefined {
    if (this.down === undefined) return undefined;
    return `LiveKit did not come back (rtc-node gave up after ${String(Math.round((Date.now() - this.down.since) / 1000))} s)`;
  }

  stop(): void {
    clearTimeout(this.down?.timer);
    this.down = undefined;
  }
}
