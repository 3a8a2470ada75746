/** CandidateBatcher: trickle ICE batching, driven by fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { END_OF_CANDIDATES, type CandidateWire } from "../../src/rtc/candidate.ts";
import { CandidateBatcher, type CandidateBatcherOptions } from "../../src/rtc/candidate-batcher.ts";

function cand(n: number): CandidateWire {
  return { candidate: `candidate:${n} 1 udp 2122260223 192.168.1.${n} 5${n}000 typ host`, sdpMid: "0", sdpMLineIndex: 0 };
}

const EOC: CandidateWire = { candidate: "" };

function setup(opts?: CandidateBatcherOptions): { batcher: CandidateBatcher; sent: CandidateWire[][] } {
  const sent: CandidateWire[][] = [];
  const batcher = new CandidateBatcher((batch) => {
    // The batcher hands its array over; copy to record what was sent at that moment.
    sent.push([...batch]);
  }, opts);
  return { batcher, sent };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("CandidateBatcher", () => {
  it("the end-of-candidates entry is an empty candidate", () => {
    expect(END_OF_CANDIDATES).toEqual(EOC);
  });

  it("sends nothing before start(), however long it waits", () => {
    const { batcher, sent } = setup();
    batcher.add(cand(1));
    batcher.add(cand(2));
    vi.advanceTimersByTime(60_000);
    expect(sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("snapshotTaken() discards the candidates that are already in the SDP", () => {
    const { batcher, sent } = setup();
    batcher.add(cand(1));
    batcher.add(cand(2));
    batcher.snapshotTaken();
    batcher.add(cand(3));
    batcher.start();
    vi.advanceTimersByTime(2_000);
    expect(sent).toEqual([[cand(3)]]);
  });

  it("start() with nothing queued schedules nothing", () => {
    const { batcher, sent } = setup();
    batcher.add(cand(1));
    batcher.snapshotTaken();
    batcher.start();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([]);
  });

  it("the first batch goes 2 s after the first candidate, and collects everything until then", () => {
    const { batcher, sent } = setup();
    batcher.snapshotTaken();
    batcher.start();
    batcher.add(cand(1));
    vi.advanceTimersByTime(1_000);
    batcher.add(cand(2));
    vi.advanceTimersByTime(999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([[cand(1), cand(2)]]);
  });

  it("candidates queued between the snapshot and start() go 2 s after start()", () => {
    const { batcher, sent } = setup();
    batcher.snapshotTaken();
    batcher.add(cand(1));
    vi.advanceTimersByTime(5_000);
    batcher.start();
    vi.advanceTimersByTime(1_999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([[cand(1)]]);
  });

  it("later batches go 500 ms after their first candidate", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.add(cand(1));
    vi.advanceTimersByTime(2_000);
    expect(sent).toHaveLength(1);

    vi.advanceTimersByTime(3_000); // idle: no timer runs while the queue is empty
    expect(vi.getTimerCount()).toBe(0);
    batcher.add(cand(2));
    vi.advanceTimersByTime(200);
    batcher.add(cand(3));
    vi.advanceTimersByTime(299);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([[cand(1)], [cand(2), cand(3)]]);

    batcher.add(cand(4));
    vi.advanceTimersByTime(500);
    expect(sent).toEqual([[cand(1)], [cand(2), cand(3)], [cand(4)]]);
  });

  it("honours custom delays", () => {
    const { batcher, sent } = setup({ firstDelayMs: 100, nextDelayMs: 10 });
    batcher.start();
    batcher.add(cand(1));
    vi.advanceTimersByTime(99);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    batcher.add(cand(2));
    vi.advanceTimersByTime(10);
    expect(sent).toEqual([[cand(1)], [cand(2)]]);
  });

  it("complete() flushes at once, with the end-of-candidates entry last, and cancels the pending timer", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.add(cand(1));
    batcher.add(cand(2));
    vi.advanceTimersByTime(500);
    batcher.complete();
    expect(sent).toEqual([[cand(1), cand(2), EOC]]);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(1);
  });

  it("complete() with nothing queued sends the end-of-candidates entry alone", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.add(cand(1));
    vi.advanceTimersByTime(2_000);
    batcher.complete();
    expect(sent).toEqual([[cand(1)], [EOC]]);
  });

  it("end-of-candidates is sent exactly once when complete() is called twice", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.complete();
    batcher.complete();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([[EOC]]);
  });

  it("candidates after the end are dropped", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.complete();
    batcher.add(cand(9));
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([[EOC]]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gathering completed before start(): everything goes at start(), end-of-candidates once", () => {
    const { batcher, sent } = setup();
    batcher.add(cand(1));
    batcher.snapshotTaken();
    batcher.add(cand(2));
    batcher.complete();
    expect(sent).toEqual([]);
    batcher.start();
    expect(sent).toEqual([[cand(2), EOC]]);
    batcher.complete();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([[cand(2), EOC]]);
  });

  it("gathering completed before the snapshot: start() sends only the end-of-candidates entry", () => {
    const { batcher, sent } = setup();
    batcher.add(cand(1));
    batcher.complete();
    batcher.snapshotTaken();
    batcher.start();
    expect(sent).toEqual([[EOC]]);
  });

  it("stop() cancels a pending batch", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.add(cand(1));
    batcher.stop();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([]);
  });

  it("after stop() nothing is sent: not new candidates, not the end-of-candidates entry", () => {
    const { batcher, sent } = setup();
    batcher.start();
    batcher.add(cand(1));
    vi.advanceTimersByTime(2_000);
    batcher.stop();
    batcher.add(cand(2));
    batcher.complete();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([[cand(1)]]);
  });

  it("stop() before start(): start() sends nothing either", () => {
    const { batcher, sent } = setup();
    batcher.add(cand(1));
    batcher.stop();
    batcher.start();
    batcher.complete();
    vi.advanceTimersByTime(10_000);
    expect(sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
