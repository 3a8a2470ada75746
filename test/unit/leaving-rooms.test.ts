/**
 * LeavingRooms (src/matrixrtc/leaving-rooms.ts): a room's next MatrixRTC call waits for every earlier call's leave
 * in it; a later call whose leave settled at once does not cut short the wait for an earlier one; settled rooms are
 * forgotten (the map stays small over months).
 */
import { describe, expect, it } from "vitest";
import { LeavingRooms } from "../../src/matrixrtc/leaving-rooms.ts";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("LeavingRooms", () => {
  it("no wait and no onWait for a room with nothing leaving", async () => {
    const rooms = new LeavingRooms();
    let told = 0;
    expect(await rooms.settled("!r:x", () => told++)).toBe(0);
    expect(told).toBe(0);
  });

  it("waits for every earlier call's leave in the room, not only the last one's", async () => {
    const rooms = new LeavingRooms();
    const first = deferred();
    rooms.add("!r:x", first.promise);
    rooms.add("!r:x", Promise.resolve());
    let told = 0;
    let done = false;
    const waiting = rooms.settled("!r:x", () => told++).then(() => (done = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(done).toBe(false);
    expect(told).toBe(1);
    // Another room is not held up.
    expect(await rooms.settled("!other:x", () => told++)).toBe(0);
    first.resolve();
    await waiting;
    expect(done).toBe(true);
    expect(rooms.size).toBe(0);
  });
});
