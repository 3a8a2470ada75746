/**
 * The calls' encoders below the front ends in priority (src/media/encoder-nice.ts), on real threads: a real wrtc pair
 * negotiated with a video track has libwebrtc's encoder thread, which the sweep sets to ENCODER_NICE and leaves every
 * other thread of the process as it was; a second sweep changes nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { ENCODER_NICE, ENCODER_THREAD, EncoderNice, niceOf, reniceThreads } from "../../src/media/encoder-nice.ts";
import { newCameraVideoSource, RTCPeerConnection } from "../../src/rtc/wrtc.ts";

/** Each thread of this process: name and nice. */
function threads(): { tid: string; name: string; nice: number }[] {
  const out: { tid: string; name: string; nice: number }[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    try {
      const name = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
      out.push({ tid, name, nice: niceOf(readFileSync(`/proc/self/task/${tid}/stat`, "utf8")) });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

const pcs: RTCPeerConnection[] = [];
afterEach(() => {
  for (const pc of pcs.splice(0)) pc.close();
});

describe("reniceThreads", () => {
  it("sets a negotiated call's encoder thread to ENCODER_NICE and no other thread", async () => {
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    pcs.push(a, b);
    a.addTrack(newCameraVideoSource().createTrack());
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription ?? { type: "offer", sdp: "" });
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription ?? { type: "answer", sdp: "" });

    const before = threads();
    const encoders = before.filter((t) => t.name === ENCODER_THREAD && t.nice < ENCODER_NICE);
    expect(encoders.length).toBeGreaterThanOrEqual(1);
    expect(await reniceThreads(ENCODER_THREAD, ENCODER_NICE)).toBe(encoders.length);

    const after = new Map(threads().map((t) => [t.tid, t]));
    for (const t of before) {
      const now = after.get(t.tid);
      if (now === undefined) continue;
      expect(now.nice, `${t.name} (${t.tid})`).toBe(t.name === ENCODER_THREAD ? Math.max(t.nice, ENCODER_NICE) : t.nice);
    }
    expect(await reniceThreads(ENCODER_THREAD, ENCODER_NICE)).toBe(0);
  });

  it("finds nothing where there is no /proc (not Linux)", async () => {
    expect(await reniceThreads(ENCODER_THREAD, ENCODER_NICE, "/nonexistent/task")).toBe(0);
  });
});

describe("EncoderNice", () => {
  it("skips a sweep while one is still running (reading /proc is slow when the CPU is short)", async () => {
    const nice = new EncoderNice(pino({ level: "silent" }));
    const first = nice.sweep();
    expect(await nice.sweep()).toBe(0);
    expect(await first).toBeGreaterThanOrEqual(0);
  });
});

describe("niceOf", () => {
  it("reads field 19 after a name with spaces and parentheses", () => {
    // priority (field 18) 20 + nice, then nice
    expect(niceOf("123 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 13 -7 1 0 0")).toBe(-7);
  });
});
