import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { alawFromLinear, alawToLinear, encodeAlaw, encodeUlaw, ulawFromLinear, ulawToLinear } from "../../src/talkback/g711.ts";
import { Decimator } from "../../src/talkback/resample.ts";

function tone(freq: number, rate: number, seconds: number, amplitude = 10_000): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

function rms(s: Int16Array, from = 0): number {
  let sum = 0;
  for (let i = from; i < s.length; i++) sum += (s[i] ?? 0) ** 2;
  return Math.sqrt(sum / (s.length - from));
}

/** Decimates in 10 ms chunks, as WebRTC delivers them. */
function decimate(input: Int16Array, outRate: number): Int16Array {
  const d = new Decimator(48_000, outRate);
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += 480) parts.push(d.process(input.subarray(i, i + 480)));
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function zeroCrossingHz(s: Int16Array, rate: number, from: number): number {
  let crossings = 0;
  for (let i = from + 1; i < s.length; i++) if ((s[i - 1] ?? 0) < 0 !== (s[i] ?? 0) < 0) crossings++;
  return crossings / 2 / ((s.length - from) / rate);
}

describe("Decimator 48 kHz → 8 kHz", () => {
  it("passes a 1 kHz tone at its level and frequency, one output per 6 inputs across chunk boundaries", () => {
    const out = decimate(tone(1000, 48_000, 1), 8000);
    expect(out.length).toBe(8000);
    const settle = 200; // past the filter's start-up
    expect(rms(out, settle) / (10_000 / Math.SQRT2)).toBeGreaterThan(0.98);
    expect(rms(out, settle) / (10_000 / Math.SQRT2)).toBeLessThan(1.02);
    expect(zeroCrossingHz(out, 8000, settle)).toBeCloseTo(1000, -1);
  });

  it("keeps 3 kHz (the speech band) and removes 5 kHz and 7 kHz instead of folding them to 3 and 1 kHz", () => {
    const keep = rms(decimate(tone(3000, 48_000, 1), 8000), 200) / (10_000 / Math.SQRT2);
    expect(keep).toBeGreaterThan(0.9);
    for (const f of [4500, 5000, 7000, 12_000]) {
      const out = decimate(tone(f, 48_000, 1), 8000);
      const gainDb = 20 * Math.log10(Math.max(rms(out, 200), 1e-9) / (10_000 / Math.SQRT2));
      expect(gainDb, `${f} Hz`).toBeLessThan(-50);
    }
  });

  it("is exact at 48 kHz and divides for 16 kHz", () => {
    const input = tone(1000, 48_000, 0.1);
    expect(decimate(input, 48_000)).toEqual(input);
    expect(decimate(input, 16_000).length).toBe(1600);
  });
});

describe("G.711", () => {
  it("encodes known values (ITU-T G.711 reference)", () => {
    expect([0, 32767, -32768, 1000, -1000].map(ulawFromLinear)).toEqual([0xff, 0x80, 0x00, 0xce, 0x4e]);
    expect([0, 32767, -32768, 1000, -1000].map(alawFromLinear)).toEqual([0xd5, 0xaa, 0x2a, 0xfa, 0x7a]);
    expect([0xff, 0x80, 0x00].map(ulawToLinear)).toEqual([0, 32124, -32124]);
    expect([0xd5, 0xaa, 0x2a].map(alawToLinear)).toEqual([8, 32256, -32256]);
  });

  it("round-trips every 16-bit value within half a quantisation step of its segment", () => {
    const bad: number[] = [];
    for (let v = -32768; v <= 32767; v++) {
      const u = ulawToLinear(ulawFromLinear(v));
      const a = alawToLinear(alawFromLinear(v));
      // Steps double per segment; the error stays under about 1/16 of the value (plus the smallest step).
      if (Math.abs(u - v) > Math.abs(v) / 16 + 8 || Math.abs(a - v) > Math.abs(v) / 16 + 16) bad.push(v);
    }
    expect(bad).toEqual([]);
  });

  it("agrees with ffmpeg's encoders (the same code, or one a quantisation step away at step edges)", () => {
    const all = new Int16Array(65536);
    for (let i = 0; i < all.length; i++) all[i] = i - 32768;
    for (const [fmt, enc, dec] of [
      ["mulaw", encodeUlaw, ulawToLinear],
      ["alaw", encodeAlaw, alawToLinear],
    ] as const) {
      const ff = execFileSync("ffmpeg", ["-v", "error", "-f", "s16le", "-ar", "8000", "-ac", "1", "-i", "-", "-f", fmt, "-"], {
        input: Buffer.from(all.buffer),
        maxBuffer: 1 << 20,
      });
      const ours = enc(all);
      let same = 0;
      const far: number[] = [];
      for (let i = 0; i < all.length; i++) {
        if (ff[i] === ours[i]) same++;
        else if (Math.abs(dec(ff[i] ?? 0) - dec(ours[i] ?? 0)) > Math.abs(i - 32768) / 16 + 16) far.push(i - 32768);
      }
      expect(far, fmt).toEqual([]);
      expect(same / all.length, fmt).toBeGreaterThan(0.98);
    }
  });
});
