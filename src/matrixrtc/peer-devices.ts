/**
 * The other party's devices in one MatrixRTC call, from their `org.matrix.msc3401.call.member` state events (one state
 * key per device): which are in the call, until when (`created_ts` or the event's timestamp, plus `expires`), and when
 * the last one has left. Apart from RtcCall because it is the one rule both directions share: a call the bot placed
 * is answered when a device joins and over when the last leaves; a call the bot joined starts with the caller's
 * device in it and is over when it leaves. A membership that lapses without a new event (a client that crashed where
 * the homeserver has no delayed events) is a leave too, found by expire(). Pure: no timers, no I/O.
 */
import { readMembership } from "./rtc-wire.ts";

export type PeerUpdate =
  /** A device is (still) in the call. */
  | { kind: "joined"; deviceId: string }
  /** The device that left was the last one in the call. */
  | { kind: "all_left" }
  /** A device left, or one never seen left: others remain, or none had joined. */
  | { kind: "left" }
  | { kind: "malformed"; reason: string };

export interface PeerDevice {
  stateKey: string;
  /** Epoch ms at which the membership lapses. */
  expiresAt: number;
}

export class PeerDevices {
  private readonly inCall = new Map<string, number>();

  /** `initial`: devices already in the call (the caller's, when the bot joins their call). */
  constructor(initial: readonly PeerDevice[] = []) {
    for (const d of initial) this.inCall.set(d.stateKey, d.expiresAt);
  }

  get count(): number {
    return this.inCall.size;
  }

  /** When the first membership in the call lapses, if any is. */
  nextExpiry(): number | undefined {
    return this.inCall.size === 0 ? undefined : Math.min(...this.inCall.values());
  }

  /** One call.member event of the peer (state key, content, the event's timestamp), read at `now`. */
  update(stateKey: string, content: Record<string, unknown>, originServerTs: number, now: number): PeerUpdate {
    const reading = readMembership(content, originServerTs, now);
    if (reading.kind === "malformed") return reading;
    if (reading.kind === "joined") {
      this.inCall.set(stateKey, reading.expiresAt);
      return { kind: "joined", deviceId: reading.deviceId };
    }
    return this.drop((key) => key === stateKey);
  }

  /** The memberships lapsed by `now` leave the call. */
  expire(now: number): PeerUpdate {
    return this.drop((_key, expiresAt) => expiresAt <= now);
  }

  private drop(gone: (stateKey: string, expiresAt: number) => boolean): PeerUpdate {
    let dropped = false;
    for (const [key, expiresAt] of this.inCall)
      if (gone(key, expiresAt)) {
        this.inCall.delete(key);
        dropped = true;
      }
    return dropped && this.inCall.size === 0 ? { kind: "all_left" } : { kind: "left" };
  }
}

/** setTimeout fires at once past 2^31-1 ms; an expiry further away re-arms when the capped timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * PeerDevices with the one timer that turns a lapsed membership into a leave: `onGone` is called once, when the last
 * device has left (`left`) or its membership lapsed with no new event (`lapsed`).
 */
export class PeerWatch {
  private readonly devices: PeerDevices;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    initial: readonly PeerDevice[],
    private readonly onGone: (how: "left" | "lapsed") => void,
  ) {
    this.devices = new PeerDevices(initial);
    this.arm();
  }

  /** PeerDevices.update, and onGone when it was the last device. */
  update(stateKey: string, content: Record<string, unknown>, originServerTs: number, now: number): PeerUpdate {
    const update = this.devices.update(stateKey, content, originServerTs, now);
    if (update.kind !== "malformed") this.settle(update, "left");
    return update;
  }

  /** No more onGone (the call ended). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private settle(update: PeerUpdate, how: "left" | "lapsed"): void {
    if (this.stopped) return;
    if (update.kind !== "all_left") {
      this.arm();
      return;
    }
    this.stop();
    this.onGone(how);
  }

  private arm(): void {
    clearTimeout(this.timer);
    const at = this.devices.nextExpiry();
    if (at === undefined || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.settle(this.devices.expire(Date.now()), "lapsed");
      },
      Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS),
    );
  }
}
