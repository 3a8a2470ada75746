import type { CameraLease } from "../media/camera-hub.ts";
import { MediaStream } from "../rtc/wrtc.ts";
import { errorMessage, type Logger } from "../util/logger.ts";

/**
 * What a call sends: a camera lease's video and audio tracks on the call's RTCRtpSenders, in one
 * MediaStream (Element needs both tracks tied to one stream). `switchTo` swaps the camera under
 * the existing senders with replaceTrack, so the peer sees the new picture without renegotiation.
 * Exactly one lease is held at a time; `release()` lets go of it (idempotent).
 */
export class CameraFeed {
  private lease: CameraLease;
  private video: RTCRtpSender | undefined;
  private audio: RTCRtpSender | undefined;
  private released = false;
  /** Switches run one after another, so leases are released in order. */
  private switching: Promise<void> = Promise.resolve();

  constructor(
    lease: CameraLease,
    private readonly log: Logger,
  ) {
    this.lease = lease;
  }

  get camera(): string {
    return this.lease.camera;
  }

  /**
   * Adds the tracks with addTrack(track, stream): on an offerer this makes new transceivers, on an
   * answerer (after setRemoteDescription) it takes over the ones the offer created. `kinds` limits
   * it to what the offer has (an audio-only offer gets no video track).
   *
   * The video only goes out (`sendonly`): nothing the bot does reads the callee's camera, which Element sends when it
   * answers a video call (it mirrors the offer), so receiving it cost upload on the callee's side and a decode in the
   * bot for nothing (a callee's 1280×720 at 25 fps: 10.3–10.9 % of a core and 10 MB per call, against 1.5–1.7 % sendonly;
   * two wrtc processes, 20 s each, 2026-12-01), and it took a person's picture somewhere it was not wanted. Audio stays `sendrecv` (the
   * callee's voice is the talkback, and an all-sendonly offer reads as hold to js-sdk: shared/notes/element-interop.md
   * §2.3).
   */
  attach(pc: RTCPeerConnection, kinds: ReadonlySet<string> = new Set(["video", "audio"])): void {
    const stream = new MediaStream();
    if (kinds.has("video")) {
      const video = pc.addTrack(this.lease.video, stream);
      this.video = video;
      const transceiver = pc.getTransceivers().find((t) => t.sender === video);
      if (transceiver !== undefined) transceiver.direction = "sendonly";
    }
    if (kinds.has("audio")) this.audio = pc.addTrack(this.lease.audio, stream);
  }

  /**
   * Shows `next` instead of the current camera. The old lease is released once both senders carry
   * the new tracks; if replacing fails, the new lease is released and the error is thrown.
   */
  switchTo(next: CameraLease): Promise<void> {
    const run = this.switching.then(() => this.replace(next));
    this.switching = run.catch(() => undefined);
    return run;
  }

  private async replace(next: CameraLease): Promise<void> {
    if (this.released) {
      next.release();
      throw new Error("the call has ended");
    }
    try {
      await this.video?.replaceTrack(next.video);
      await this.audio?.replaceTrack(next.audio);
    } catch (err: unknown) {
      // Back to the old camera where a sender had already switched; the new lease goes.
      const rollback = (e: unknown): void => {
        this.log.debug({ err: errorMessage(e) }, "could not put the old camera back on a sender");
      };
      await this.video?.replaceTrack(this.lease.video).catch(rollback);
      await this.audio?.replaceTrack(this.lease.audio).catch(rollback);
      next.release();
      throw err;
    }
    if (this.isReleased()) {
      // The call ended while the tracks were being replaced: nothing may stay leased.
      next.release();
      return;
    }
    const old = this.lease;
    this.lease = next;
    old.release();
    this.log.info({ from: old.camera, to: next.camera }, "camera switched");
  }

  private isReleased(): boolean {
    return this.released;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.lease.release();
  }
}
