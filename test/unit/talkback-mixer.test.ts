import { describe, expect, it } from "vitest";
import { FRAME_SAMPLES, Mixer } from "../../src/talkback/mixer.ts";

const chunk = (v: number, n = 480): Int16Array => new Int16Array(n).fill(v);

describe("Mixer", () => {
  it("makes one 20 ms frame per 20 ms of clock, silent with nobody talking, after a stall restarts instead of bursting", () => {
    const frames: Int16Array[] = [];
    const mixer = new Mixer((f) => frames.push(f));
    mixer.start();
    mixer.stop();
    const t0 = performance.now();
    mixer.tick(t0 + 100);
    expect(frames.length).toBeGreaterThanOrEqual(4);
    expect(frames.length).toBeLessThanOrEqual(5);
    expect(frames.every((f) => f.length === FRAME_SAMPLES && f.every((v) => v === 0))).toBe(true);
    frames.length = 0;
    mixer.tick(t0 + 60_000);
    expect(frames.length).toBe(1);
  });

  it("sums two callees with clipping, each after 30 ms primed", () => {
    const frames: Int16Array[] = [];
    const mixer = new Mixer((f) => frames.push(f));
    const a = mixer.add();
    const b = mixer.add();
    a.push(chunk(1000), 1);
    a.push(chunk(1000), 1);
    a.push(chunk(1000), 1);
    b.push(chunk(30_000), 1);
    b.push(chunk(30_000), 1);
    b.push(chunk(30_000), 1);
    const acc = new Int32Array(FRAME_SAMPLES);
    a.takeInto(acc);
    b.takeInto(acc);
    expect(acc[0]).toBe(31_000);
    mixer.start();
    mixer.stop();
    mixer.tick(performance.now() + 25);
    // 31 000 + the rest: a 960-sample frame from 480 left each, then silence; clipped at 32767 never exceeded.
    expect(frames[0]?.[0]).toBe(31_000);
    expect(frames[0]?.[479]).toBe(31_000);
    expect(frames[0]?.[480]).toBe(0);
    const c = mixer.add();
    c.push(chunk(20_000), 1);
    c.push(chunk(20_000), 1);
    c.push(chunk(20_000), 1);
    const d = mixer.add();
    d.push(chunk(20_000), 1);
    d.push(chunk(20_000), 1);
    d.push(chunk(20_000), 1);
    const sum = new Int32Array(FRAME_SAMPLES);
    c.takeInto(sum);
    d.takeInto(sum);
    expect(sum[0]).toBe(40_000);
    frames.length = 0;
    c.push(chunk(20_000, 1440), 1);
    d.push(chunk(20_000, 1440), 1);
    mixer.tick(performance.now() + 100);
    expect(Math.max(...(frames[0] ?? []))).toBe(32_767);
  });

  it("downmixes stereo and holds at most 200 ms per callee (a sink running ahead loses its oldest audio)", () => {
    const mixer = new Mixer(() => undefined);
    const a = mixer.add();
    const stereo = new Int16Array(960);
    for (let i = 0; i < 960; i += 2) {
      stereo[i] = 1000;
      stereo[i + 1] = 3000;
    }
    a.push(stereo, 2);
    a.push(stereo, 2);
    a.push(stereo, 2);
    const acc = new Int32Array(FRAME_SAMPLES);
    a.takeInto(acc);
    expect(acc[0]).toBe(2000);
    for (let i = 0; i < 100; i++) a.push(chunk(5), 1);
    expect(a.dropped).toBe(100 * 480 + 480 - 9600);
  });
});

describe("MixerInput standing queue", () => {
  const steadyFrame = (a: ReturnType<Mixer["add"]>, acc: Int32Array, v: number): void => {
    a.push(chunk(v), 1);
    a.push(chunk(v), 1);
    acc.fill(0);
    a.takeInto(acc);
  };

  it("a clump of audio after the clock played silence for it does not stay queued: latency comes back within two seconds", () => {
    const a = new Mixer(() => undefined).add();
    const acc = new Int32Array(FRAME_SAMPLES);
    for (let i = 0; i < 60; i++) steadyFrame(a, acc, 1);
    expect(a.trimmed, "steady flow: nothing trimmed").toBe(0);
    // A stall: 120 ms of audio at once, after the clock went on without it; then steady flow again.
    for (let i = 0; i < 12; i++) a.push(chunk(2), 1);
    for (let i = 0; i < 100; i++) steadyFrame(a, acc, 1);
    expect(a.trimmed).toBeGreaterThan(0);
    // A marker pushed now comes out within two frames (30 ms primed), not 120 ms later.
    a.push(chunk(9), 1);
    a.push(chunk(9), 1);
    acc.fill(0);
    a.takeInto(acc);
    acc.fill(0);
    a.takeInto(acc);
    expect(acc[FRAME_SAMPLES - 1]).toBe(9);
  });

  it("a passing burst that drains by itself is left alone", () => {
    const a = new Mixer(() => undefined).add();
    const acc = new Int32Array(FRAME_SAMPLES);
    for (let i = 0; i < 10; i++) steadyFrame(a, acc, 1);
    // 80 ms early, then 80 ms without anything: the queue runs back down within the second.
    for (let i = 0; i < 8; i++) a.push(chunk(1), 1);
    for (let i = 0; i < 4; i++) {
      acc.fill(0);
      a.takeInto(acc);
    }
    for (let i = 0; i < 60; i++) steadyFrame(a, acc, 1);
    expect(a.trimmed).toBe(0);
  });

  it("reports how much each input holds (least and mean over its last 1 s period) and what it trimmed, in ms", () => {
    const mixer = new Mixer(() => undefined);
    const a = mixer.add();
    const acc = new Int32Array(FRAME_SAMPLES);
    expect(a.report()).toEqual({ leastHeldMs: undefined, meanHeldMs: undefined, trimmedMs: 0, droppedMs: 0, receivedMs: 0 });
    // Steady flow: 20 ms in and out per frame, primed at 30 ms: 20 ms left after each frame.
    for (let i = 0; i < 60; i++) steadyFrame(a, acc, 1);
    expect(a.report()).toEqual({ leastHeldMs: 20, meanHeldMs: 20, trimmedMs: 0, droppedMs: 0, receivedMs: 1200 });
    // 40 ms more that stays: 60 ms held through a whole period is a standing queue, trimmed once to the 30 ms primed.
    for (let i = 0; i < 4; i++) a.push(chunk(1), 1);
    for (let i = 0; i < 150; i++) steadyFrame(a, acc, 1);
    expect(a.report()).toEqual({ leastHeldMs: 30, meanHeldMs: 30, trimmedMs: 30, droppedMs: 0, receivedMs: 1200 + 40 + 3000 });
  });
});
