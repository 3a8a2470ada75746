/** A MatrixRTC call's last step (rtc-call.ts end()): its membership emptied and its publisher stopped, within a bound. */
import { stepWithin } from "../util/deadline.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { RoomPresence } from "./room-presence.ts";

/** How long a call's end waits for its leave and the publisher's stop (DISCONNECT_WITHIN_MS) before it ends anyway. */
export const END_WITHIN_MS = 10_000;

/**
 * Empties the call's membership and stops its publisher together; resolves once both are done or `withinMs` has
 * passed. Bounded: a fresh-clone CI run (2026-12-02) saw a call whose end never came after LiveKit's restart (which
 * step hung was not found), and the next calls found the room busy. Past the bound the presence is abandoned: the
 * homeserver's delayed leave empties the membership 8 s after the bot stops restarting it, the publisher releases the
 * camera within its own bound, and the room's next call waits for the presence's `settled`.
 */
export async function leaveWithin(
  presence: RoomPresence,
  publisher: { stop(): Promise<void> },
  withinMs: number,
  log: Logger,
): Promise<void> {
  const ending = Promise.allSettled([presence.exit(), publisher.stop()]);
  const { outcome } = await stepWithin(Date.now() + withinMs, () => ending);
  if (outcome === "overran") {
    presence.abandon();
    log.warn({ withinMs }, "the call's leave did not finish in time: ended anyway");
    return;
  }
  const [left] = await ending;
  if (left.status === "rejected")
    log.warn({ err: errorMessage(left.reason) }, "could not empty the call membership (it lapses by its expiry)");
}
