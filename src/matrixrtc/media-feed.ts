/**
 * What a LiveKitPublisher publishes: one camera's decoded frames and PCM, tapped for as long as the publisher is live.
 * In the bot's own process that is a camera lease (CameraTap on the hub's tracks); in the LiveKit process
 * (livekit-child.ts) it is the frames the bot sends it over the media pipe, while the bot keeps the lease.
 */
import type { CameraLease } from "../media/camera-hub.ts";
import { CameraTap, type CameraTapHandlers } from "./camera-tap.ts";

export interface MediaFeed {
  readonly camera: string;
  /** Delivers the media to `handlers` until the returned stop(). */
  tap(handlers: CameraTapHandlers): { stop(): void };
  /** The publisher is done with the feed (a lease lets go of its camera). */
  release(): void;
}

/** A camera lease as a feed (the in-process publisher's); a feed is returned as it is. */
export function asFeed(source: CameraLease | MediaFeed): MediaFeed {
  if ("tap" in source) return source;
  return {
    camera: source.camera,
    tap: (handlers) => new CameraTap(source, handlers),
    release: () => {
      source.release();
    },
  };
}
