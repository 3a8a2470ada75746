/**
 * Whether the callee of a MatrixRTC call is still there, for the case where their client vanishes without leaving:
 * a phone that lost its network, a crashed client, a client whose homeserver has no delayed events (MSC4140) to
 * send its leave. Nothing changes in the room then, so the membership alone would keep the bot in the call (its
 * camera streaming to nobody) until the membership's `expires` (4 h by default).
 *
 * Two signs, both on real data:
 * - LiveKit: the callee's participant (identity `{user_id}:{device_id}`, what compatibility-mode clients connect as:
 *   shared/notes/matrixrtc.md §2) left the SFU and none of their joined devices is back within the grace. Only a
 *   device once seen counts: a client that never connected (or connects under another identity: matrix_2_0's hashed
 *   ones) is never declared gone this way.
 * - The membership: a device's `expires` passed without a renewal (js-sdk renews well before it lapses).
 *
 * While the bot's own link to LiveKit is down (it is reconnecting) it cannot see anyone: the grace waits, and starts
 * afresh from what the SFU shows once the link is back. Pure logic with timers: RtcCall feeds it the callee's
 * memberships and the publisher's participant events, and ends the call on `onGone`.
 */
import type { Logger } from "../util/logger.ts";

/**
 * How long a callee's LiveKit participant may be away before the call ends. LiveKit itself already waited before it
 * dropped them (the callee's own reconnect window); this only lets a client that reconnects with a fresh participant
 * (rtc-node and livekit-client rebuild the session after a failed resume) come back.
 */
export const PEER_GRACE_MS = 10_000;

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PeerWatchOptions {
  callee: string;
  log: Logger;
  /** The callee is gone: end the call with this reason. Called at most once. */
  onGone: (reason: string) => void;
  graceMs?: number | undefined;
}

/** What the watch reads from the LiveKit side (LiveKitPublisher). */
export interface PeerSource {
  on(event: "peerJoined" | "peerLeft", listener: (identity: string) => void): unknown;
  on(event: "link", listener: (up: boolean) => void): unknown;
  on(event: "connected", listener: () => void): unknown;
  peers(): string[];
}

interface Device {
  identity: string;
  expiry: NodeJS.Timeout;
}

export class PeerWatch {
  /** The callee's joined memberships, by state key. */
  private readonly devices = new Map<string, Device>();
  /** Identities in the LiveKit room now (anyone's: the callee's may come before their membership). */
  private readonly present = new Set<string>();
  /** Identities of the callee's devices seen in LiveKit at least once. */
  private readonly seen = new Set<string>();
  private linkUp = true;
  private grace: NodeJS.Timeout | undefined;
  private goneSince = 0;
  private stopped = false;
  private readonly graceMs: number;

  constructor(private readonly opts: PeerWatchOptions) {
    this.graceMs = opts.graceMs ?? PEER_GRACE_MS;
  }

  /** How many of the callee's devices have a joined membership. */
  get memberCount(): number {
    return this.devices.size;
  }

  /** The callee's membership under `stateKey` is joined (or renewed) for `deviceId` until `expiresAt`. */
  memberJoined(stateKey: string, deviceId: string, expiresAt: number): void {
    if (this.stopped) return;
    clearTimeout(this.devices.get(stateKey)?.expiry);
    this.devices.set(stateKey, { identity: `${this.opts.callee}:${deviceId}`, expiry: this.expiryTimer(stateKey, expiresAt) });
    this.evaluate();
  }

  /** The membership under `stateKey` left; true when it was one of the callee's joined devices. */
  memberLeft(stateKey: string): boolean {
    const device = this.devices.get(stateKey);
    if (device === undefined) return false;
    clearTimeout(device.expiry);
    this.devices.delete(stateKey);
    this.evaluate();
    return true;
  }

  /**
   * Follows the participants and the link of `source` from now on. Whoever was in the room before the bot's connect
   * gets no join event (rtc-node fills its participants from the join response): a callee whose client connected
   * first (the bot connects once the ring is out) is read from the room at connect.
   */
  follow(source: PeerSource): void {
    source.on("connected", () => {
      this.link(true, source.peers());
    });
    source.on("peerJoined", (identity) => {
      this.peerJoined(identity);
    });
    source.on("peerLeft", (identity) => {
      this.peerLeft(identity);
    });
    source.on("link", (up) => {
      this.link(up, source.peers());
    });
  }

  peerJoined(identity: string): void {
    this.present.add(identity);
    this.evaluate();
  }

  peerLeft(identity: string): void {
    this.present.delete(identity);
    this.evaluate();
  }

  /** The bot's own LiveKit link went down (false) or came back (true) with these participants in the room. */
  link(up: boolean, participants: readonly string[] = []): void {
    this.linkUp = up;
    if (up) {
      this.present.clear();
      for (const identity of participants) this.present.add(identity);
    }
    this.evaluate();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.grace);
    for (const device of this.devices.values()) clearTimeout(device.expiry);
    this.devices.clear();
  }

  /** A timer for `expiresAt`, in steps a timer can hold (setTimeout fires at once beyond 2^31-1 ms: `expires` is anyone's number). */
  private expiryTimer(stateKey: string, expiresAt: number): NodeJS.Timeout {
    return setTimeout(
      () => {
        this.memberExpired(stateKey, expiresAt);
      },
      Math.min(Math.max(expiresAt - Date.now(), 0), MAX_TIMER_MS),
    );
  }

  private memberExpired(stateKey: string, expiresAt: number): void {
    const device = this.devices.get(stateKey);
    if (device === undefined || this.stopped) return;
    if (Date.now() < expiresAt) {
      device.expiry = this.expiryTimer(stateKey, expiresAt);
      return;
    }
    this.devices.delete(stateKey);
    this.opts.log.info({ identity: device.identity }, "the callee's call membership expired without a renewal");
    if (this.devices.size === 0) this.gone("the callee's membership expired");
    else this.evaluate();
  }

  private evaluate(): void {
    if (this.stopped) return;
    for (const { identity } of this.devices.values()) {
      if (!this.present.has(identity) || this.seen.has(identity)) continue;
      this.seen.add(identity);
      this.opts.log.info({ identity }, "the callee's client is in the LiveKit room: watching it");
    }
    const watched = [...this.devices.values()].filter((d) => this.seen.has(d.identity));
    const away = this.linkUp && watched.length > 0 && !watched.some((d) => this.present.has(d.identity));
    if (!away) {
      if (this.grace !== undefined) this.opts.log.info("the callee is back in LiveKit: the call goes on");
      clearTimeout(this.grace);
      this.grace = undefined;
      return;
    }
    if (this.grace !== undefined) return;
    this.goneSince = Date.now();
    this.opts.log.info({ graceMs: this.graceMs }, "the callee left LiveKit without leaving the call: waiting for them to come back");
    this.grace = setTimeout(() => {
      this.gone(`the callee's client vanished (it left LiveKit and did not come back within ${String(Math.round(this.graceMs / 1000))} s)`);
    }, this.graceMs);
  }

  private gone(reason: string): void {
    if (this.stopped) return;
    this.opts.log.warn(
      { reason, awayMs: this.goneSince === 0 ? undefined : Date.now() - this.goneSince },
      "the callee is gone: ending the call",
    );
    this.stop();
    this.opts.onGone(reason);
  }
}
