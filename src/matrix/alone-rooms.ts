/**
 * Leaves a room once nobody else is in it (no other member joined or invited). A direct chat its user left can never
 * carry a call again (the room check wants the bot and one allowed user), and a bot that runs unattended for months
 * would otherwise stay in every such room and go on syncing it. Rooms where the bot waits for an invited user (a
 * doorbell's new direct chat) have that member invited and are kept.
 *
 * Before it leaves, it waits (at most `busyWaitMs`) until the room has no call and no call whose end is still being
 * sent there (a legacy hang-up, a MatrixRTC membership's leave): out of the room, the bot can send nothing to it.
 * It checks the members when the wait is over, not when the leave arrived: a leave the sync delivers late (after a
 * restart) finds the room as it is now.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { errorMessage, type Logger } from "../util/logger.ts";

/** A MatrixRTC call's leave settles within 10 s (call-leave.ts); a legacy call ends at once. */
export const BUSY_WAIT_MS = 15_000;
const POLL_MS = 200;

export class AloneRooms {
  private readonly checking = new Set<string>();
  private stopped = false;

  constructor(
    private readonly client: Pick<MatrixClient, "getRoomMembers" | "leaveRoom">,
    private readonly botUserId: string,
    /** Whether the room has a call, or a call's end still being sent. */
    private readonly busy: (roomId: string) => boolean,
    private readonly log: Logger,
    private readonly busyWaitMs = BUSY_WAIT_MS,
  ) {}

  /**
   * A member other than the bot left the room, declined its invite, or was kicked or banned. Resolves when this
   * check is over (never rejects); a room already being checked is checked once.
   */
  memberGone(roomId: string): Promise<void> {
    if (this.stopped || this.checking.has(roomId)) return Promise.resolve();
    this.checking.add(roomId);
    return this.check(roomId).finally(() => this.checking.delete(roomId));
  }

  /** No room is left after this (the bot is shutting down). */
  stop(): void {
    this.stopped = true;
  }

  private async check(roomId: string): Promise<void> {
    try {
      const deadline = Date.now() + this.busyWaitMs;
      while (!this.stopped && this.busy(roomId) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
      }
      if (this.stopped) return;
      const members = await this.client.getRoomMembers(roomId, undefined, ["join", "invite"]);
      if (members.some((m) => m.membershipFor !== this.botUserId)) return;
      await this.client.leaveRoom(roomId);
      this.log.info({ room: roomId }, "left a room nobody else is in");
    } catch (err: unknown) {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not check or leave a room its last member left");
    }
  }
}
