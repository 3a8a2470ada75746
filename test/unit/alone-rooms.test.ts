import type { MatrixClient } from "matrix-bot-sdk";
import { describe, expect, it } from "vitest";
import { AloneRooms } from "../../src/matrix/alone-rooms.ts";
import { createLogger } from "../../src/util/logger.ts";
import { waitFor } from "../harness/wait.ts";

const BOT = "@bot:example.org";

/** A small fake of the two client calls: the room's members ("@user" joined, "@user invite", "@user leave"), and the leaves asked for. */
class Rooms {
  readonly left: string[] = [];
  readonly asked: string[] = [];
  failWith: Error | undefined;
  /** Runs when a room's members are read, before the answer (a leave that arrives meanwhile). */
  onRead: (roomId: string) => void = () => undefined;
  constructor(readonly members: Map<string, string[]>) {}

  client(): Pick<MatrixClient, "getRoomMembers" | "leaveRoom"> {
    return {
      getRoomMembers: (roomId: string) => {
        this.asked.push(roomId);
        if (this.failWith) return Promise.reject(this.failWith);
        const answer = (this.members.get(roomId) ?? []).map((member) => {
          const [membershipFor, membership = "join"] = member.split(" ");
          return { membershipFor, membership };
        });
        this.onRead(roomId);
        return Promise.resolve(answer) as never;
      },
      leaveRoom: (roomId: string) => {
        this.left.push(roomId);
        return Promise.resolve();
      },
    };
  }
}

function setup(members: Record<string, string[]>, busy: (roomId: string) => boolean = () => false, waitMs = 5_000) {
  const rooms = new Rooms(new Map(Object.entries(members)));
  const alone = new AloneRooms(rooms.client(), BOT, busy, createLogger({ level: "silent" }), waitMs);
  return { rooms, alone };
}

describe("AloneRooms", () => {
  it("leaves a room whose joined and invited members are only the bot; keeps one with anyone else", async () => {
    const { rooms, alone } = setup({
      "!dm": [BOT, "@alice:example.org leave", "@mallory:example.org ban"],
      "!group": [BOT, "@bob:example.org"],
      "!invited": [BOT, "@carol:example.org invite"],
    });
    await Promise.all(["!dm", "!group", "!invited"].map((room) => alone.memberGone(room)));
    // Joined and invited members both count: a doorbell's new chat with its user still invited is kept.
    expect(rooms.asked).toEqual(["!dm", "!group", "!invited"]);
    expect(rooms.left).toEqual(["!dm"]);
  });

  it("waits until the room's call has ended (its end is sent from inside the room), then leaves", async () => {
    let busy = true;
    let polls = 0;
    const { rooms, alone } = setup({ "!dm": [BOT] }, () => {
      polls++;
      return busy;
    });
    const done = alone.memberGone("!dm");
    // Three polls pass while the call is up: nothing is asked or left.
    await waitFor("three polls of the busy room", () => polls >= 3);
    expect(rooms.asked).toEqual([]);
    busy = false;
    await done;
    expect(rooms.left).toEqual(["!dm"]);
  });

  it("gives up waiting on a call after its bound, and a second leave while it waits checks the room once", async () => {
    const { rooms, alone } = setup({ "!dm": [BOT] }, () => true, 500);
    await Promise.all([alone.memberGone("!dm"), alone.memberGone("!dm")]);
    expect(rooms.left).toEqual(["!dm"]);
    expect(rooms.asked).toHaveLength(1);
  });

  it("a leave that arrives after the members were read has them read again", async () => {
    const { rooms, alone } = setup({ "!group": [BOT, "@bob:example.org"] });
    let second: Promise<boolean> | undefined;
    rooms.onRead = () => {
      if (second !== undefined) return;
      // Bob leaves while the first answer, still with him in it, is on its way.
      rooms.members.set("!group", [BOT, "@bob:example.org leave"]);
      second = alone.memberGone("!group");
    };
    await alone.memberGone("!group");
    await second;
    expect(rooms.asked).toEqual(["!group", "!group"]);
    expect(rooms.left).toEqual(["!group"]);
  });

  it("does not leave when the bot stops while the members are being read", async () => {
    const { rooms, alone } = setup({ "!dm": [BOT] });
    rooms.onRead = () => {
      alone.stop();
    };
    await alone.memberGone("!dm");
    expect(rooms.asked).toEqual(["!dm"]);
    expect(rooms.left).toEqual([]);
  });

  it("sweeps rooms one at a time, counts those it left, and checks no more once stopped", async () => {
    const { rooms, alone } = setup({ "!a": [BOT], "!b": [BOT, "@bob:example.org"], "!c": [BOT, "@carol:example.org leave"], "!d": [BOT] });
    expect(await alone.sweep(["!a", "!b", "!c"])).toBe(2);
    expect(rooms.left).toEqual(["!a", "!c"]);
    // One room at a time: each read comes after the previous room's check ended.
    expect(rooms.asked).toEqual(["!a", "!b", "!c"]);

    rooms.onRead = () => {
      alone.stop();
    };
    expect(await alone.sweep(["!d", "!a"])).toBe(0);
    expect(rooms.asked).toEqual(["!a", "!b", "!c", "!d"]);
    expect(rooms.left).toEqual(["!a", "!c"]);
  });

  it("leaves nothing once stopped, and a failed members request is logged, not thrown", async () => {
    let polls = 0;
    const { rooms, alone } = setup({ "!dm": [BOT], "!other": [BOT] }, () => ++polls < 3);
    const waiting = alone.memberGone("!dm");
    await waitFor("a poll of the busy room", () => polls >= 1);
    alone.stop();
    await Promise.all([waiting, alone.memberGone("!other")]);
    expect(rooms.asked).toEqual([]);
    expect(rooms.left).toEqual([]);

    const second = setup({ "!dm": [BOT] });
    second.rooms.failWith = new Error("M_FORBIDDEN");
    await second.alone.memberGone("!dm");
    expect(second.rooms.asked).toEqual(["!dm"]);
    expect(second.rooms.left).toEqual([]);
  });
});
