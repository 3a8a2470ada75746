/** The doorbell's guards: the webhook token check, the rate limit, the debounce, log-once, and the JPEG size reader. */
import { describe, expect, it } from "vitest";
import { Debouncer } from "../../src/doorbell/debounce.ts";
import { LogOnce } from "../../src/doorbell/log-once.ts";
import { RateLimiter, TokenBucket } from "../../src/doorbell/rate-limit.ts";
import { jpegSize, snapshotArgs } from "../../src/doorbell/snapshot.ts";
import { bearerTokenMatches } from "../../src/doorbell/token.ts";
import { createLogger } from "../../src/util/logger.ts";

const TOKEN = "0123456789abcdef-doorbell";

describe("bearerTokenMatches", () => {
  it("accepts exactly Bearer <token>", () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`Bearer  ${TOKEN} `, TOKEN)).toBe(true);
  });

  it.each([
    ["no header", undefined],
    ["an empty header", ""],
    ["another scheme", `Basic ${TOKEN}`],
    ["the bare token", TOKEN],
    ["a prefix of the token", `Bearer ${TOKEN.slice(0, -1)}`],
    ["a longer token", `Bearer ${TOKEN}x`],
    ["an empty token", "Bearer "],
    ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
    ["a repeated header", [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]],
    ["a huge header", `Bearer ${"x".repeat(10_000)}`],
  ])("refuses %s", (_what, header) => {
    expect(bearerTokenMatches(header, TOKEN)).toBe(false);
  });
});

describe("TokenBucket and RateLimiter", () => {
  it("allows a burst, then one request per refill period", () => {
    const clock = { now: 0 };
    const bucket = new TokenBucket(3, 1 / 1000, () => clock.now);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    expect(bucket.msUntilToken()).toBe(1000);
    clock.now += 999;
    expect(bucket.take()).toBe(false);
    clock.now += 1;
    expect(bucket.take()).toBe(true);
    clock.now += 1_000_000;
    expect(bucket.isFull()).toBe(true);
  });

  it("limits each client alone, and everyone together at four times the burst", () => {
    const clock = { now: 0 };
    const limiter = new RateLimiter({ burst: 2, perMinute: 60 }, () => clock.now);
    expect(limiter.check("a").ok).toBe(true);
    expect(limiter.check("a").ok).toBe(true);
    const third = limiter.check("a");
    expect(third).toEqual({ ok: false, retryAfterMs: 1000 });
    // Other clients still get through, until the global bucket (8) is empty.
    const others = ["b", "b", "c", "c", "d", "d", "e"].map((c) => limiter.check(c).ok);
    expect(others).toEqual([true, true, true, true, true, true, false]);
    clock.now += 60_000;
    expect(limiter.check("a").ok).toBe(true);
  });

  it("tracks a bounded number of clients", () => {
    const limiter = new RateLimiter({ burst: 1, perMinute: 1, maxClients: 10 }, () => 0);
    for (let i = 0; i < 100; i++) limiter.check(`10.0.0.${i}`);
    expect(limiter.trackedClients()).toBeLessThanOrEqual(10);
  });
});

describe("Debouncer", () => {
  it("rings once per window per camera; the window starts at the press that rang", () => {
    const clock = { now: 0 };
    const d = new Debouncer(() => clock.now);
    expect(d.fire("frontdoor", 15_000)).toBe(true);
    clock.now = 5_000;
    expect(d.fire("frontdoor", 15_000)).toBe(false);
    expect(d.fire("garage", 15_000)).toBe(true);
    clock.now = 14_999;
    expect(d.fire("frontdoor", 15_000)).toBe(false);
    clock.now = 15_000;
    expect(d.fire("frontdoor", 15_000)).toBe(true);
    expect(d.fire("frontdoor", 0)).toBe(true);
  });

  it("ready() looks without starting a window", () => {
    const clock = { now: 0 };
    const d = new Debouncer(() => clock.now);
    expect(d.ready("frontdoor", 15_000)).toBe(true);
    expect(d.ready("frontdoor", 15_000)).toBe(true);
    expect(d.fire("frontdoor", 15_000)).toBe(true);
    clock.now = 14_999;
    expect(d.ready("frontdoor", 15_000)).toBe(false);
    clock.now = 15_000;
    expect(d.ready("frontdoor", 15_000)).toBe(true);
  });
});

describe("LogOnce", () => {
  it("logs a kind once per interval and counts what it left out", () => {
    const lines: string[] = [];
    const clock = { now: 0 };
    const log = new LogOnce(
      createLogger({ level: "info", destination: { write: (s: string) => void lines.push(s) } }),
      60_000,
      () => clock.now,
    );
    for (let i = 0; i < 100; i++) log.warn("malformed a", { topic: "t" }, "ignored");
    log.warn("malformed b", {}, "ignored");
    expect(lines).toHaveLength(2);
    clock.now = 60_000;
    log.warn("malformed a", {}, "ignored");
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2] ?? "{}")).toMatchObject({ suppressed: 99 });
  });
});

describe("jpegSize", () => {
  /** A minimal JPEG header: SOI, an APP0 segment, then a SOF marker with the size. */
  const jpeg = (sof: number, width: number, height: number): Buffer =>
    Buffer.from([
      0xff,
      0xd8,
      0xff,
      0xe0,
      0x00,
      0x04,
      0x4a,
      0x46,
      0xff,
      0xff,
      sof,
      0x00,
      0x11,
      0x08,
      height >> 8,
      height & 255,
      width >> 8,
      width & 255,
      0x03,
    ]);

  it("reads width and height from a baseline or progressive frame header", () => {
    expect(jpegSize(jpeg(0xc0, 1280, 720))).toEqual({ width: 1280, height: 720 });
    expect(jpegSize(jpeg(0xc2, 640, 480))).toEqual({ width: 640, height: 480 });
  });

  it("skips DHT (C4) and finds nothing in what is not a JPEG", () => {
    expect(jpegSize(jpeg(0xc4, 1, 1))).toBeUndefined();
    expect(jpegSize(Buffer.from("not a jpeg"))).toBeUndefined();
    expect(jpegSize(Buffer.from([0xff, 0xd8]))).toBeUndefined();
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00]))).toBeUndefined();
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x00]))).toBeUndefined();
  });
});

describe("snapshotArgs", () => {
  it("uses the pipeline's low-latency RTSP input options and writes one MJPEG frame to stdout", () => {
    const args = snapshotArgs({ url: "rtsp://u:p@10.0.0.2/s", maxWidth: 1280, maxHeight: 720, maxFps: 25 });
    expect(args).toEqual(
      expect.arrayContaining(["-rtsp_transport", "tcp", "-fflags", "discardcorrupt", "-frames:v", "1", "-c:v", "mjpeg"]),
    );
    expect(args.slice(-7)).toEqual(["-f", "image2", "-c:v", "mjpeg", "-q:v", "3", "pipe:1"]);
    expect(args[args.indexOf("-i") + 1]).toBe("rtsp://u:p@10.0.0.2/s");
  });
});
