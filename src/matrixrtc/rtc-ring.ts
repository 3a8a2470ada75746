/**
 * The ring of a call the bot places (shared/notes/matrixrtc.md §1 step 4): the room's MSC4143 slot opened first
 * where it is not (js-sdk 43 rings only for an open slot; rtc-wire.ts RTC_SLOT_TYPE), then the
 * `org.matrix.msc4075.rtc.notification` relating to the bot's membership. Apart from RtcCall because only one of
 * its two modes rings: a call the bot joins (the caller rang, or chose not to) sends neither.
 */
import { errorMessage, type Logger } from "../util/logger.ts";
import type { RtcRoomApi } from "./rtc-room-api.ts";
import { notificationContent, RTC_NOTIFICATION_TYPE } from "./rtc-wire.ts";

/** Opens the room's slot unless it is open; a failure (e.g. too little power) is logged: the ring still goes out. */
export async function openSlot(api: RtcRoomApi, roomId: string, log: Logger): Promise<void> {
  try {
    if (await api.openCallSlot(roomId)) log.debug("opened the room's MatrixRTC slot");
  } catch (err: unknown) {
    log.warn({ err: errorMessage(err) }, "could not open the room's MatrixRTC slot (matrix-js-sdk 43 clients will not ring)");
  }
}

/** Sends the ring to `callee`; resolves with its event ID. */
export function sendRing(
  api: RtcRoomApi,
  p: { roomId: string; callee: string; membershipEventId: string; lifetimeMs: number },
): Promise<string> {
  return api.sendEvent(
    p.roomId,
    RTC_NOTIFICATION_TYPE,
    notificationContent({ callee: p.callee, membershipEventId: p.membershipEventId, senderTs: Date.now(), lifetimeMs: p.lifetimeMs }),
  );
}
