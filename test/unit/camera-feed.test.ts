/** CameraFeed: a call's camera under its RTCRtpSenders, switched with replaceTrack (importing it loads wrtc). */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { CameraFeed } from "../../src/call/camera-feed.ts";
import type { CameraLease } from "../../src/media/camera-hub.ts";

const log = pino({ level: "silent" });

interface FakeLease extends CameraLease {
  released: number;
}

function lease(camera: string): FakeLease {
  const l = {
    camera,
    video: { kind: "video", id: `${camera}-v` } as unknown as MediaStreamTrack,
    audio: { kind: "audio", id: `${camera}-a` } as unknown as MediaStreamTrack,
    released: 0,
    tap() {
      throw new Error("a legacy call's camera feed never taps the camera (its tracks carry the media)");
    },
    release() {
      l.released++;
    },
  };
  return l;
}

/** A peer connection stand-in whose senders record the tracks they carry (each in a transceiver, as addTrack makes). */
function fakePc(opts: { failOn?: string; onReplace?: () => void } = {}): {
  pc: RTCPeerConnection;
  senders: { track: MediaStreamTrack }[];
  transceivers: { sender: unknown; direction: string }[];
} {
  const senders: { track: MediaStreamTrack }[] = [];
  const transceivers: { sender: unknown; direction: string }[] = [];
  const pc = {
    getTransceivers: () => transceivers,
    addTrack(track: MediaStreamTrack) {
      const sender = {
        track,
        replaceTrack(next: MediaStreamTrack) {
          if (opts.failOn !== undefined && next.id === opts.failOn) return Promise.reject(new Error("replaceTrack failed"));
          opts.onReplace?.();
          sender.track = next;
          return Promise.resolve();
        },
      };
      senders.push(sender);
      transceivers.push({ sender, direction: "sendrecv" });
      return sender;
    },
  } as unknown as RTCPeerConnection;
  return { pc, senders, transceivers };
}

describe("CameraFeed", () => {
  it("adds video (sendonly) and audio; an audio-only offer gets only audio", () => {
    const a = fakePc();
    new CameraFeed(lease("door"), log).attach(a.pc);
    expect(a.senders.map((s) => s.track.id)).toEqual(["door-v", "door-a"]);
    // The video only goes out (the callee's camera is not wanted); the audio both ways (talkback, and no "hold").
    expect(a.transceivers.map((t) => t.direction)).toEqual(["sendonly", "sendrecv"]);
    const b = fakePc();
    new CameraFeed(lease("door"), log).attach(b.pc, new Set(["audio"]));
    expect(b.senders.map((s) => s.track.id)).toEqual(["door-a"]);
  });

  it("switchTo puts the new camera's tracks on the same senders and releases the old lease", async () => {
    const { pc, senders } = fakePc();
    const door = lease("door");
    const garden = lease("garden");
    const feed = new CameraFeed(door, log);
    feed.attach(pc);
    await feed.switchTo(garden);
    expect(senders.map((s) => s.track.id)).toEqual(["garden-v", "garden-a"]);
    expect(feed.camera).toBe("garden");
    expect([door.released, garden.released]).toEqual([1, 0]);
    feed.release();
    feed.release();
    expect(garden.released).toBe(1);
  });

  it("a failed replaceTrack puts the old camera back, releases the new lease and throws", async () => {
    const { pc, senders } = fakePc({ failOn: "garden-a" });
    const door = lease("door");
    const garden = lease("garden");
    const feed = new CameraFeed(door, log);
    feed.attach(pc);
    await expect(feed.switchTo(garden)).rejects.toThrow("replaceTrack failed");
    expect(senders.map((s) => s.track.id)).toEqual(["door-v", "door-a"]);
    expect(feed.camera).toBe("door");
    expect([door.released, garden.released]).toEqual([0, 1]);
  });

  it("after the call ended, a switch is refused and its lease released", async () => {
    const { pc } = fakePc();
    const [a, b] = [lease("a"), lease("b")];
    const feed = new CameraFeed(a, log);
    feed.attach(pc);
    feed.release();
    await expect(feed.switchTo(b)).rejects.toThrow("the call has ended");
    expect([a.released, b.released]).toEqual([1, 1]);
  });

  it("the call ending while tracks are being replaced leaves nothing leased", async () => {
    const ref: { feed?: CameraFeed } = {};
    const { pc } = fakePc({ onReplace: () => ref.feed?.release() });
    const [a, b] = [lease("a"), lease("b")];
    const feed = new CameraFeed(a, log);
    ref.feed = feed;
    feed.attach(pc);
    await feed.switchTo(b);
    expect([a.released, b.released]).toEqual([1, 1]);
  });

  it("switches run one after another", async () => {
    const { pc, senders } = fakePc();
    const [a, b, c] = [lease("a"), lease("b"), lease("c")];
    const feed = new CameraFeed(a, log);
    feed.attach(pc);
    await Promise.all([feed.switchTo(b), feed.switchTo(c)]);
    expect(senders.map((s) => s.track.id)).toEqual(["c-v", "c-a"]);
    expect([a.released, b.released, c.released]).toEqual([1, 1, 0]);
  });
});
