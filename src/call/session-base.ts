import { EventEmitter } from "node:events";
import type { CameraLease } from "../media/camera-hub.ts";
import type { Logger } from "../util/logger.ts";
import { CameraFeed } from "./camera-feed.ts";
import type { PeerLink, VideoSendStats } from "../rtc/peer-link.ts";
import { CallState, type EndReason } from "./state.ts";

export type CallDirection = "outgoing" | "incoming";

export interface CallEnd {
  callId: string;
  roomId: string;
  direction: CallDirection;
  party: "local" | "remote";
  reason: EndReason;
  /** Whether ICE ever connected (media flowed). */
  connected: boolean;
}

export interface SessionEvents {
  state: [state: CallState];
  ended: [end: CallEnd];
}

/**
 * What a call is in both directions (CallSession, InboundCallSession): where it is, the camera it
 * shows (CameraFeed) and its peer connection (PeerLink, once made).
 */
export abstract class SessionBase extends EventEmitter<SessionEvents> {
  protected link: PeerLink | undefined;
  protected readonly feed: CameraFeed;

  constructor(
    private readonly where: { callId: string; roomId: string },
    lease: CameraLease,
    log: Logger,
  ) {
    super();
    this.feed = new CameraFeed(lease, log);
  }

  /** The other member of the call (the invitee of a call the bot places, the caller of one placed to it). */
  abstract get peer(): string;
  abstract get state(): CallState;

  get callId(): string {
    return this.where.callId;
  }
  get roomId(): string {
    return this.where.roomId;
  }
  /** The camera the call shows now (it changes with switchCamera). */
  get camera(): string {
    return this.feed.camera;
  }

  /** The other party's audio as received (talkback); undefined before the peer connection exists or once it is closed. */
  remoteAudioTrack(): MediaStreamTrack | undefined {
    return this.link?.pc.getReceivers().find((r) => r.track.kind === "audio")?.track;
  }

  /** The video sender's figures so far (undefined before the peer connection exists or once it is closed). */
  videoStats(): Promise<VideoSendStats | undefined> {
    return this.link?.videoStats() ?? Promise.resolve(undefined);
  }

  /** Shows another camera on this call without renegotiation (the old lease is released). */
  switchCamera(lease: CameraLease): Promise<void> {
    if (this.state === CallState.Ended) {
      lease.release();
      return Promise.reject(new Error("the call has ended"));
    }
    return this.feed.switchTo(lease);
  }
}
