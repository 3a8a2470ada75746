/** CallOutbox: a call's events go out in order, rooms do not wait for each other, a shutdown waits for what is queued. */
import { describe, expect, it } from "vitest";
import { CallOutbox } from "../../src/call/call-outbox.ts";
import { waitFor } from "../harness/wait.ts";

/** A homeserver stand-in whose sends finish only when the test says so. */
class SlowRoom {
  readonly started: string[] = [];
  readonly sent: string[] = [];
  private readonly pending = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();

  readonly send = (roomId: string, type: string): Promise<void> => {
    const key = `${roomId} ${type}`;
    this.started.push(key);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(key, {
        resolve: () => {
          this.sent.push(key);
          resolve();
        },
        reject,
      });
    });
  };

  finish(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) throw new Error(`${key} was not sent`);
    this.pending.delete(key);
    p.resolve();
  }

  fail(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) throw new Error(`${key} was not sent`);
    this.pending.delete(key);
    p.reject(new Error("M_LIMIT_EXCEEDED"));
  }
}

describe("CallOutbox", () => {
  it("sends a call's events one after another, even past a failed one", async () => {
    const room = new SlowRoom();
    const outbox = new CallOutbox(room.send);
    const send = outbox.sender("!a");
    const invite = send("m.call.invite", {});
    const candidates = send("m.call.candidates", {});
    const hangup = send("m.call.hangup", {});
    await waitFor("the invite to go out", () => room.started.length === 1);
    expect(room.started).toEqual(["!a m.call.invite"]);
    room.fail("!a m.call.invite");
    await expect(invite).rejects.toThrow("M_LIMIT_EXCEEDED");
    await waitFor("the candidates to go out", () => room.started.length === 2);
    expect(room.started).toEqual(["!a m.call.invite", "!a m.call.candidates"]);
    room.finish("!a m.call.candidates");
    await candidates;
    await waitFor("the hangup to go out", () => room.started.length === 3);
    room.finish("!a m.call.hangup");
    await hangup;
    expect(room.sent).toEqual(["!a m.call.candidates", "!a m.call.hangup"]);
  });

  it("does not hold one room's events behind another's", async () => {
    const room = new SlowRoom();
    const outbox = new CallOutbox(room.send);
    void outbox.sender("!a")("m.call.invite", {});
    const b = outbox.sender("!b")("m.call.invite", {});
    const direct = outbox.send("!a", "m.call.reject", {});
    await waitFor("all three to go out", () => room.started.length === 3);
    room.finish("!b m.call.invite");
    room.finish("!a m.call.reject");
    await Promise.all([b, direct]);
    expect(room.sent).toEqual(["!b m.call.invite", "!a m.call.reject"]);
  });

  it("drain waits for queued events, failed ones included", async () => {
    const room = new SlowRoom();
    const outbox = new CallOutbox(room.send);
    const send = outbox.sender("!a");
    void send("m.call.invite", {}).catch(() => undefined);
    void send("m.call.hangup", {});
    let drained = false;
    const drain = outbox.drain(60_000).then(() => {
      drained = true;
    });
    await waitFor("the invite to go out", () => room.started.length === 1);
    room.fail("!a m.call.invite");
    await waitFor("the hangup to go out", () => room.started.length === 2);
    expect(drained).toBe(false);
    room.finish("!a m.call.hangup");
    await drain;
    expect(room.sent).toEqual(["!a m.call.hangup"]);
    await outbox.drain(60_000); // nothing in flight any more: resolves at once
  });

  it("says which rooms still have an event on its way (an ended call's hangup)", async () => {
    const room = new SlowRoom();
    const outbox = new CallOutbox(room.send);
    const hangup = outbox.sender("!a")("m.call.hangup", {});
    const busy = outbox.send("!b", "m.call.hangup", {}).catch(() => undefined);
    expect([outbox.sendingTo("!a"), outbox.sendingTo("!b"), outbox.sendingTo("!c")]).toEqual([true, true, false]);
    await waitFor("both to go out", () => room.started.length === 2);
    room.finish("!a m.call.hangup");
    await hangup;
    // The tracking ends a turn after the send: the room is clear once it is sent.
    await waitFor("!a to be clear", () => !outbox.sendingTo("!a"));
    expect(outbox.sendingTo("!b")).toBe(true);
    room.fail("!b m.call.hangup");
    await busy;
    await waitFor("!b to be clear after its failed send", () => !outbox.sendingTo("!b"));
  });

  it("drain gives up after its timeout when an event never goes out", async () => {
    const room = new SlowRoom();
    const outbox = new CallOutbox(room.send);
    void outbox.send("!a", "m.call.hangup", {});
    const started = performance.now();
    await outbox.drain(50);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(room.sent).toEqual([]);
  });
});
