/**
 * What a publisher publishes: one camera's decoded frames and PCM, tapped for as long as the publisher is live. For a
 * LiveKitPublisher in the bot's own process that is a camera lease (its tap on the camera's pipeline); in the LiveKit
 * process (livekit-child.ts) it is the frames the bot sends it over the media pipe, while the bot keeps the lease.
 * ChildPublisher's feed is the lease's stream to that process (camera-streams.ts), whose handlers only count.
 */
import type { CameraMediaHandlers } from "../media/camera-media.ts";
import type { Logger } from "../util/logger.ts";

/** A camera lease is one (camera-hub.ts). */
export interface MediaFeed<H = CameraMediaHandlers> {
  readonly camera: string;
  /** Delivers the media to `handlers` until the returned stop(). */
  tap(handlers: H): { stop(): void };
  /** The publisher is done with the feed (a lease lets go of its camera). */
  release(): void;
}

/**
 * The camera a publisher holds (LiveKitPublisher, ChildPublisher): its feed, tapped while the publisher is live, and
 * `!switch`'s move to another under the same handlers. The publisher's end stops the tap first and refuses switches
 * (end()), and lets the camera go last (release()).
 */
export class HeldFeed<H = CameraMediaHandlers> {
  private tap: { stop(): void } | undefined;
  private ended = false;

  constructor(
    private feed: MediaFeed<H>,
    private readonly handlers: H,
    private readonly log: Logger,
  ) {}

  get camera(): string {
    return this.feed.camera;
  }

  /** The publisher is live: the media flows to the handlers from now on. */
  tapNow(): void {
    if (!this.ended) this.tap ??= this.feed.tap(this.handlers);
  }

  /** Holds `next` instead (tapped at once if the current one was) and releases the current one; after end(), releases `next` and rejects. */
  switchTo(next: MediaFeed<H>): Promise<void> {
    if (this.ended) {
      next.release();
      return Promise.reject(new Error("the call has ended"));
    }
    const old = this.feed;
    this.feed = next;
    if (this.tap !== undefined) {
      this.tap.stop();
      this.tap = next.tap(this.handlers);
    }
    old.release();
    this.log.info({ from: old.camera, to: next.camera }, "camera switched");
    return Promise.resolve();
  }

  /** The publisher has ended: no more media, no more switches; the camera is still held until release(). */
  end(): void {
    this.ended = true;
    this.tap?.stop();
    this.tap = undefined;
  }

  release(): void {
    this.end();
    this.feed.release();
  }
}
