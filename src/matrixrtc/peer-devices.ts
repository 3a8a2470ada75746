/**
 * The other party's devices in one MatrixRTC call, from their `org.matrix.msc3401.call.member` state events (one state
 * key per device): which are in the call, and when the last one has left. Apart from RtcCall because it is the one
 * rule both directions share: a call the bot placed is answered when a device joins and over when the last leaves; a
 * call the bot joined starts with the caller's device in it and is over when it leaves. Pure: no timers, no I/O.
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

export class PeerDevices {
  private readonly inCall = new Set<string>();

  /** `initial`: state keys already in the call (the caller's, when the bot joins their call). */
  constructor(initial: readonly string[] = []) {
    for (const key of initial) this.inCall.add(key);
  }

  get count(): number {
    return this.inCall.size;
  }

  /** One call.member event of the peer (state key, content, the event's timestamp), read at `now`. */
  update(stateKey: string, content: Record<string, unknown>, originServerTs: number, now: number): PeerUpdate {
    const reading = readMembership(content, originServerTs, now);
    if (reading.kind === "malformed") return reading;
    if (reading.kind === "joined") {
      this.inCall.add(stateKey);
      return { kind: "joined", deviceId: reading.deviceId };
    }
    const wasThere = this.inCall.delete(stateKey);
    return wasThere && this.inCall.size === 0 ? { kind: "all_left" } : { kind: "left" };
  }
}
