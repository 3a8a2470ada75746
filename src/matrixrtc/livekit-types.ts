/** What LiveKitPublisher (livekit-publisher.ts) tells its owner: its events and its counters. */
import type { EventEmitter } from "node:events";
import type { CameraLease } from "../media/camera-hub.ts";
import type { OnVoice } from "./livekit-voice.ts";
import type { VideoEncodeFigures } from "./publisher-encode.ts";

export interface LiveKitPublisherEvents {
  /** Connected and the audio track published (video follows with the first frame). */
  connected: [];
  /** The first video frame went to LiveKit, with its size. */
  videoPublished: [size: { width: number; height: number }];
  /** The publisher has ended: stop() was called, or LiveKit disconnected it for good (`reason`). */
  ended: [reason: string];
  /** Another participant joined or left the LiveKit room (by identity). */
  peerJoined: [identity: string];
  peerLeft: [identity: string];
  /** The link to LiveKit went down (rtc-node is reconnecting) or came back (with the room's participants re-read). */
  link: [up: boolean];
}

export interface PublisherStats {
  framesSent: number;
  audioChunksSent: number;
  /** Audio chunks dropped because rtc-node's queue was behind (it applies back-pressure per captureFrame). */
  audioChunksDropped: number;
}

/**
 * What a MatrixRTC call (rtc-call.ts) holds of its publisher: LiveKitPublisher itself (rtc-node in this process), or
 * ChildPublisher (child-publisher.ts: the same LiveKitPublisher in the LiveKit process, livekit-process.ts), which
 * is what the bot uses.
 */
export interface CallPublisher extends EventEmitter<LiveKitPublisherEvents> {
  readonly camera: string;
  start(url: string, token: string): Promise<void>;
  stop(): Promise<void>;
  switchTo(next: CameraLease): Promise<void>;
  listen(callee: string, onVoice: OnVoice): { stop(): void };
  peers(): string[];
  stats(): PublisherStats;
  videoEncode(): Promise<VideoEncodeFigures>;
}
