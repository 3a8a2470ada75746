/**
 * The ended MatrixRTC calls whose leave may still land, by room (RtcCall.settled, room-presence.ts). Every call of
 * the bot in a room writes the same call.member state key, so a room's next call sends its membership only once the
 * leaves of all its earlier calls can no longer land. Emptied as they settle (each within SETTLE_CAP_MS).
 */
export class LeavingRooms {
  private readonly byRoom = new Map<string, Promise<void>>();

  /** The number of rooms with a leave that may still land. */
  get size(): number {
    return this.byRoom.size;
  }

  /** Whether a call in `roomId` has ended and its leave may still land. */
  has(roomId: string): boolean {
    return this.byRoom.has(roomId);
  }

  /** A call in `roomId` has ended; `settled` resolves once its leave can no longer land. */
  add(roomId: string, settled: Promise<void>): void {
    const before = this.byRoom.get(roomId);
    const all = before === undefined ? settled : Promise.all([before, settled]).then(() => undefined);
    this.byRoom.set(roomId, all);
    void all.then(() => {
      if (this.byRoom.get(roomId) === all) this.byRoom.delete(roomId);
    });
  }

  /** Resolves once no earlier call's leave in `roomId` can land, with the time waited (0, and no onWait, when none can). */
  async settled(roomId: string, onWait: () => void): Promise<number> {
    const pending = this.byRoom.get(roomId);
    if (pending === undefined) return 0;
    onWait();
    const since = Date.now();
    await pending;
    return Date.now() - since;
  }
}
