/**
 * Room membership changes and what they mean for a call: a member who leaves or is banned ends the call that
 * connects them (the call manager decides), and a third member joining a room with a call in progress gets the
 * third-member notice, once per newcomer and call (a MatrixRTC call ends then, callee-events.ts: the room is told
 * why). Separate from bot.ts because it is the one place with its own state (who was already told, per call) and its
 * own user-facing text, apart from the event wiring and the commands.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallManager } from "../call/manager.ts";
import type { ActiveCall } from "../call/router.ts";
import { CallState } from "../call/state.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import { ageOf, MAX_COMMAND_AGE_MS, membershipSchema, type RoomEvent } from "./events.ts";

export class MembershipHandler {
  /** Who the room was told about, per call: the third-member notice goes out once per newcomer and call. */
  private readonly announced = new WeakMap<ActiveCall, Set<string>>();

  constructor(
    private readonly client: MatrixClient,
    private readonly botUserId: string,
    private readonly calls: CallManager,
    private readonly log: Logger,
    /** The other party of the MatrixRTC call in a room, if there is one (rtc-calls.ts). */
    private readonly rtcCalleeIn: (roomId: string) => string | undefined = () => undefined,
    /** Someone other than the bot is no longer in the room (alone-rooms.ts). */
    private readonly memberGone: (roomId: string) => void = () => undefined,
  ) {}

  /** An `m.room.member` state event (already parsed) about `userId`, its state_key: a leave, a ban or a join. */
  memberEvent(roomId: string, userId: string, event: RoomEvent): void {
    const m = membershipSchema.safeParse(event.content);
    if (m.success && (m.data.membership === "leave" || m.data.membership === "ban")) {
      this.calls.memberLeft(roomId, userId, this.botUserId);
      if (userId !== this.botUserId) this.memberGone(roomId);
    }
    // A join, not a profile change of someone already joined.
    if (m.success && m.data.membership === "join" && event.unsigned?.prev_content?.membership !== "join") {
      this.memberJoined(roomId, userId, ageOf(event));
    }
  }

  /**
   * A third member joined a room while a call is in progress there. The call goes on: its media is
   * encrypted end to end (DTLS-SRTP) between the bot and the device that answered, so the newcomer
   * cannot see it, and their call events are ignored (only the call's other party counts). What
   * changes is the room: it fails the two-member check, so no new call is placed or answered there.
   * The room is told once per joining member. A MatrixRTC call ends instead (callee-events.ts) and the room is told
   * that; where a legacy call rings beside it (`!ring both`), the legacy notice follows for that call.
   */
  private memberJoined(roomId: string, userId: string, ageMs: number): void {
    const rtcCallee = this.rtcCalleeIn(roomId);
    if (rtcCallee !== undefined && userId !== rtcCallee && userId !== this.botUserId && ageMs <= MAX_COMMAND_AGE_MS) {
      this.log.info({ room: roomId, member: userId }, "a third member joined a room with a MatrixRTC call: the call ends");
      this.tell(
        roomId,
        `${userId} joined this room, so I ended the MatrixRTC call: anyone in the room could have joined it and ` +
          "watched the camera. While this room has more than two members I won't place or answer calls in it.",
      );
    }
    const call = this.calls.callInRoom(roomId);
    if (
      call === undefined ||
      call.state === CallState.Ended ||
      userId === this.botUserId ||
      userId === call.peer ||
      ageMs > MAX_COMMAND_AGE_MS
    )
      return;
    const announced = this.announced.get(call) ?? new Set<string>();
    this.announced.set(call, announced);
    if (announced.has(userId)) return;
    announced.add(userId);
    this.log.info(
      { room: roomId, call: call.callId, member: userId },
      "a third member joined a room with a call in progress; the call goes on",
    );
    const text =
      `${userId} joined this room during the call. The call goes on: its video reaches only ${call.peer}'s device, ` +
      "and nobody else can see it. While this room has more than two members I won't place or answer calls in it.";
    this.tell(roomId, text);
  }

  private tell(roomId: string, text: string): void {
    this.client.sendNotice(roomId, text).catch((err: unknown) => {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not post the third-member notice");
    });
  }
}
