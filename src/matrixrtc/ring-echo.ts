/**
 * The bot's own ring coming back in its sync: the sign that the homeserver has handed it to the callee's clients
 * (one notifier wakes every sync of the room). RtcCall connects LiveKit only after it, or after RING_ECHO_WITHIN_MS.
 * Why: LiveKit's connect and publish take CPU for a few hundred milliseconds, and begun as soon as the ring's send
 * returned they ran while the homeserver still delivered the ring (bench `matrixrtc`; docs/benchmark.md). An echo
 * may come before the send has returned the ring's event ID: the IDs seen are kept for the call (a call rings once).
 */

/** How long LiveKit waits for the echo at most (a slow sync, or a homeserver that does not echo). */
export const RING_ECHO_WITHIN_MS = 300;

export class RingEcho {
  private readonly seen = new Set<string>();
  private waiter: { eventId: string; done: (echoed: boolean) => void } | undefined;

  /** The bot's ring `eventId` in the sync. */
  saw(eventId: string): void {
    if (this.waiter?.eventId === eventId) this.waiter.done(true);
    else if (this.seen.size < 8) this.seen.add(eventId);
  }

  /** Resolves true once the ring `eventId` came back, false after `withinMs` or stop(). */
  wait(eventId: string, withinMs = RING_ECHO_WITHIN_MS): Promise<boolean> {
    if (this.seen.has(eventId)) return Promise.resolve(true);
    this.waiter?.done(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        done(false);
      }, withinMs);
      const done = (echoed: boolean): void => {
        clearTimeout(timer);
        if (this.waiter?.done === done) this.waiter = undefined;
        resolve(echoed);
      };
      this.waiter = { eventId, done };
    });
  }

  /** Ends a wait at once (the call ended). */
  stop(): void {
    this.waiter?.done(false);
  }
}
