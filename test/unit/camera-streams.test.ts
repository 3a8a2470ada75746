/**
 * CameraStreams (camera-streams.ts) with real wrtc tracks and the leases' taps: the calls of one LiveKit process that
 * show the same camera share one stream, so each camera frame crosses the media pipe once, and each call still counts it.
 */
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { CameraStreams, type SentCounts } from "../../src/matrixrtc/camera-streams.ts";
import { MediaReader, MediaWriter } from "../../src/matrixrtc/media-pipe.ts";
import type { CameraLease } from "../../src/media/camera-hub.ts";
import { handLease } from "../harness/hand-lease.ts";
import { waitFor } from "../harness/wait.ts";

function camera(name: string): { lease: CameraLease; frame(): void; stop(): void } {
  const hand = handLease(name);
  const data = new Uint8Array(32 * 16 * 1.5);
  return {
    lease: hand.lease,
    frame: () => {
      hand.frame({ width: 32, height: 16, data });
    },
    stop: () => {
      hand.stop();
    },
  };
}

function counter(): SentCounts & { sent: number } {
  const c = {
    sent: 0,
    video: (sent: boolean) => {
      if (sent) c.sent++;
    },
    audio: () => undefined,
  };
  return c;
}

const cameras: ReturnType<typeof camera>[] = [];
afterEach(() => {
  for (const c of cameras.splice(0)) c.stop();
});

describe("CameraStreams", () => {
  it("one stream and one record a frame for the calls of one camera; a stream of its own for another camera", async () => {
    const pipe = new PassThrough({ highWaterMark: 64 * 1024 * 1024 });
    const records = new Map<number, number>();
    const reader = new MediaReader((r) => records.set(r.stream, (records.get(r.stream) ?? 0) + 1));
    pipe.on("data", (chunk: Buffer) => {
      reader.push(chunk);
    });
    const streams = new CameraStreams(new MediaWriter(pipe));
    const door = camera("door");
    const yard = camera("yard");
    cameras.push(door, yard);
    const [a, b, c] = [counter(), counter(), counter()];
    const first = streams.join(door.lease, a);
    const second = streams.join(door.lease, b);
    const other = streams.join(yard.lease, c);
    expect(second.stream).toBe(first.stream);
    expect(other.stream).not.toBe(first.stream);
    expect(streams.size).toBe(2);

    // A tap is called as the pipeline feeds its sources, and a frame while the stream's last is still being written
    // is dropped (as a camera's next one would be): frames are offered until one is sent.
    for (let i = 1; i <= 5; i++) {
      await waitFor(`the door's frame ${String(i)} sent`, () => {
        door.frame();
        return a.sent === i;
      });
    }
    expect(b.sent).toBe(5);
    // Once on the pipe, not once a call: the yard's frame, written after all of the door's, read back means every
    // door record is read too (a record a call would pass 5 on its way to 10).
    yard.frame();
    await waitFor("the yard's record read back", () => records.get(other.stream) === 1);
    expect(records.get(first.stream)).toBe(5);
    expect(c.sent).toBe(1);

    // One call leaves: the other still gets the frames, through the same stream.
    first.leave();
    first.leave();
    await waitFor("the remaining call counting the next frame", () => {
      door.frame();
      return b.sent === 6;
    });
    expect(a.sent).toBe(5);

    // The last call of the door leaves: its tap ends, and a new call makes a new stream.
    second.leave();
    expect(streams.size).toBe(1);
    const again = streams.join(door.lease, counter());
    expect(again.stream).not.toBe(first.stream);
    streams.stopAll();
    expect(streams.size).toBe(0);
    other.leave();
    again.leave();
  });
});
