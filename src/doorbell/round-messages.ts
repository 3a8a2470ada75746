/**
 * What one ring round posts into the rung users' direct chats: the doorbell line, the snapshot that follows it when
 * it is ready, and any other message the round hands over, each tracked until sent so the round can wait for them.
 * Apart from ring-round.ts (who is rung, who answered) because posting never decides anything: a message that fails
 * is logged and the ringing goes on.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CameraConfig } from "../config/load.ts";
import { type Logger } from "../util/logger.ts";
import { doorbellText, imageContent, uploadSnapshot, type UploadedImage } from "./messages.ts";
import type { Snapshotter } from "./snapshot.ts";

export class RoundMessages {
  private readonly posts = new Set<Promise<void>>();
  private snapshot: Promise<UploadedImage | undefined> = Promise.resolve(undefined);
  private snapshotStarted = false;

  constructor(
    private readonly client: MatrixClient,
    private readonly snapshots: Snapshotter,
    private readonly camera: CameraConfig,
    /** The press's clock time, as the messages show it. */
    private readonly time: string,
    private readonly log: Logger,
    /** The round was cancelled (shutdown): the picture is not sent. */
    private readonly cancelled: () => boolean,
  ) {}

  /** Takes the snapshot the doorbell lines will show, now or once `after` resolves (once; later calls do nothing). */
  startSnapshot(after?: Promise<void>): void {
    if (this.snapshotStarted) return;
    this.snapshotStarted = true;
    this.snapshot = after === undefined ? this.takeSnapshot() : after.then(() => this.takeSnapshot());
  }

  /** Resolves when every message posted (and any posted meanwhile) is sent or has failed. */
  async drain(): Promise<void> {
    while (this.posts.size > 0) await Promise.all([...this.posts]);
  }

  async doorbellLine(room: string): Promise<void> {
    await this.text(room, doorbellText(this.camera.name, this.time));
    // The picture follows when it is ready; the call does not wait for it.
    void this.post(room, async () => {
      const image = await this.snapshot;
      if (image !== undefined && !this.cancelled()) await this.client.sendMessage(room, imageContent(image));
    });
  }

  async text(room: string, body: string): Promise<void> {
    // m.text, not m.notice: notices are silent by default push rules, and a doorbell should notify.
    await this.client.sendMessage(room, { msgtype: "m.text", body });
  }

  private async takeSnapshot(): Promise<UploadedImage | undefined> {
    try {
      const jpeg = await this.snapshots.take(this.camera);
      if (jpeg === undefined || this.cancelled()) return undefined;
      const image = await uploadSnapshot(this.client, jpeg, `${this.camera.name}-${this.time.replace(":", "")}.jpg`);
      if (image === undefined) this.log.warn({ bytes: jpeg.length }, "the snapshot is not a JPEG");
      return image;
    } catch (err: unknown) {
      this.log.warn({ err }, "could not upload the snapshot");
      return undefined;
    }
  }

  /** Sends a message (tracked until sent); resolves when it is sent or has failed (logged). */
  post(room: string, send: () => Promise<void>): Promise<void> {
    const p: Promise<void> = send()
      .catch((err: unknown) => {
        this.log.warn({ room, err }, "could not post into the direct chat");
      })
      .finally(() => this.posts.delete(p));
    this.posts.add(p);
    return p;
  }
}
