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

/**
 * How long a leave waits for the room's call to be over. A legacy call's end is its hang-up, sent at once; a MatrixRTC
 * call's end settles within 10 s when the homeserver answers (call-leave.ts), and when it does not, within
 * SETTLE_CAP_MS (70 s, room-presence.ts) after that: the wait covers both, so the bot does not leave the room while
 * its MatrixRTC leave may still land there.
 */
export const BUSY_WAIT_MS = 85_000;
const POLL_MS = 200;

/** One room's check; the leaves that arrived once its members were read (`lateLeaves`) have them read again. */
interface Check {
  /** Whether the room was left. */
  done: Promise<boolean>;
  read: boolean;
  lateLeaves: number;
}

export class AloneRooms {
  private readonly checks = new Map<string, Check>();
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
   * check is over, with whether the room was left (never rejects). A leave while the room's check still waits joins
   * it; one that arrives after the members were read has the room read again, so the last of several leaves is never
   * missed.
   */
  memberGone(roomId: string): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const running = this.checks.get(roomId);
    if (running) {
      if (running.read) running.lateLeaves++;
      return running.done;
    }
    let finish = (_left: boolean): void => undefined;
    const check: Check = { done: new Promise((resolve) => (finish = resolve)), read: false, lateLeaves: 0 };
    // In the map before run() starts: its first part runs at once, up to the members request.
    this.checks.set(roomId, check);
    void this.run(roomId, check).then((left) => {
      this.checks.delete(roomId);
      finish(left);
    });
    return check.done;
  }

  /**
   * Checks each room in turn (at start-up: the rooms whose last member left while the bot was not running, or before
   * it left such rooms). Resolves with how many were left once all were checked, or soon after stop().
   */
  async sweep(roomIds: readonly string[]): Promise<number> {
    let left = 0;
    for (const roomId of roomIds) {
      if (this.halted()) break;
      if (await this.memberGone(roomId)) left++;
    }
    return left;
  }

  /** No room is left after this (the bot is shutting down). */
  stop(): void {
    this.stopped = true;
  }

  /** Read through a call: stop() may come during any await. */
  private halted(): boolean {
    return this.stopped;
  }

  /** Whether the room was left; never rejects (check() catches). */
  private async run(roomId: string, check: Check): Promise<boolean> {
    let seen: number;
    do {
      seen = check.lateLeaves;
      check.read = false;
      if (await this.check(roomId, check)) return true;
    } while (check.lateLeaves !== seen && !this.halted());
    return false;
  }

  /** Whether the room was left. */
  private async check(roomId: string, check: Check): Promise<boolean> {
    try {
      const deadline = Date.now() + this.busyWaitMs;
      while (!this.halted() && this.busy(roomId) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS).unref());
      }
      if (this.halted()) return false;
      check.read = true;
      // One snapshot of the members, joined and invited read from the same answer.
      const members = await this.client.getRoomMembers(roomId);
      const present = members.filter((m) => m.membership === "join" || m.membership === "invite");
      if (this.halted() || present.some((m) => m.membershipFor !== this.botUserId)) return false;
      await this.client.leaveRoom(roomId);
      this.log.info({ room: roomId }, "left a room nobody else is in");
      return true;
    } catch (err: unknown) {
      this.log.warn({ room: roomId, err: errorMessage(err) }, "could not check or leave a room its last member left");
      return false;
    }
  }
}
