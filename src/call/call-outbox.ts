/**
 * The call events on their way to the homeserver. A call's events go out one after another
 * (`sender`), so they reach the room in the order they were made: a hangup never overtakes its
 * invite, nor an answer its candidates. Every event, of a call or not (admission's busy replies,
 * glare's hangups), is tracked from the moment it is queued until it was sent or failed, so a
 * shutdown can wait for its hangups (`drain`) instead of exiting with them still queued. It was
 * part of CallManager; it is its own class because ordering and draining are one concern that
 * needs none of the manager's registry.
 */
import type { SendCallEvent } from "./call-core.ts";

export type SendEvent = (roomId: string, type: string, content: Record<string, unknown>) => Promise<void>;

/** Sends one call's events one after another, so they reach the room in the order they were made. */
function serialized(send: SendCallEvent): SendCallEvent {
  let tail: Promise<unknown> = Promise.resolve();
  return (type, content) => {
    const sending = tail.then(() => send(type, content));
    tail = sending.catch(() => undefined);
    return sending;
  };
}

export class CallOutbox {
  /** Call events on their way to the homeserver, with their rooms (a shutdown waits for its hangups). */
  private readonly inFlight = new Map<Promise<void>, string>();
  /** Sends one event now (not queued behind a call's), tracked until it is sent. */
  readonly send: SendEvent;

  constructor(private readonly rawSend: SendEvent) {
    this.send = (roomId, type, content) => this.tracked(roomId, rawSend(roomId, type, content));
  }

  /** Tracks an event being sent until it is (a shutdown waits for these). */
  private tracked(roomId: string, sending: Promise<void>): Promise<void> {
    const tracked = sending.catch(() => undefined).finally(() => this.inFlight.delete(tracked));
    this.inFlight.set(tracked, roomId);
    return sending;
  }

  /** A session's events: queued in order, tracked from the moment they are queued. */
  sender(roomId: string): SendCallEvent {
    const queue = serialized((type, content) => this.rawSend(roomId, type, content));
    return (type, content) => this.tracked(roomId, queue(type, content));
  }

  /** Whether an event is still on its way to `roomId` (a call's hangup, sent after the call left the registry). */
  sendingTo(roomId: string): boolean {
    for (const room of this.inFlight.values()) if (room === roomId) return true;
    return false;
  }

  /** Resolves when every event queued so far was sent (or failed), or `timeoutMs` passed. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.inFlight.keys()]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
