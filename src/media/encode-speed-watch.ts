import type { Logger } from "../util/logger.ts";
import { EncodeSpeed, MEGAPIXELS_720P } from "./encode-speed.ts";

/** What the watch reads of a call: its sender's cumulative figures (video-send-stats.ts, publisher-encode.ts). */
export interface CallEncodeFigures {
  callId: string;
  video:
    | {
        width: number;
        height: number;
        counters: { framesEncoded: number; totalEncodeTime: number };
        resolutionChanges: number;
      }
    | undefined;
}

/** `promise`, or a rejection once `ms` have passed without it settling. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`the calls' stats gave no answer within ${String(ms)} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds a 1280×720 frame takes at `msPerMegapixel`, for the log. */
function per720p(msPerMegapixel: number): number {
  return Math.round(msPerMegapixel * MEGAPIXELS_720P * 10) / 10;
}

/**
 * Reads the calls' encoder figures (legacy calls: wrtc's getStats; MatrixRTC calls: rtc-node's getRtcStats) every
 * `everyMs` and hands the encode budget's share for this machine (EncodeSpeed) to `apply` when it moved by a tenth or
 * more, with one log line. Used when the configuration leaves `media.encodeMegapixelsPerCore` to the default; the
 * timer does not keep the process alive. A reading that gets no answer within `everyMs` is given up (the next one
 * starts afresh), so one stuck stats request cannot stop the budget from following for good.
 */
export class EncodeSpeedWatch {
  private readonly speed = new EncodeSpeed();
  private applied = 1;
  private timer: NodeJS.Timeout | undefined;
  private reading = false;

  constructor(
    private readonly read: () => Promise<readonly CallEncodeFigures[]>,
    private readonly apply: (share: number) => void,
    private readonly log: Logger,
    private readonly everyMs = 5_000,
  ) {}

  /** The median milliseconds per megapixel of the last windows (EncodeSpeed); undefined before the first. */
  get msPerMegapixel(): number | undefined {
    return this.speed.msPerMegapixel;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      void this.tick();
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One reading of every call (public for tests; does nothing once stopped or before start()). */
  async tick(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const calls = await within(this.read(), this.everyMs);
      if (this.timer === undefined) return; // stopped while reading
      const at = Date.now();
      for (const c of calls) {
        if (!c.video) continue;
        const { width, height, resolutionChanges, counters } = c.video;
        this.speed.note(c.callId, { ...counters, resolutionChanges, width, height, at });
      }
      this.speed.keepOnly(new Set(calls.map((c) => c.callId)));
      const share = this.speed.share();
      const ms = this.speed.msPerMegapixel;
      const moved = Math.abs(share - this.applied) >= 0.1 * this.applied || (share === 1 && this.applied !== 1);
      if (ms === undefined || !moved) return;
      this.apply(share);
      this.applied = share;
      this.log.info(
        { msPer720pFrame: per720p(ms), defaultAssumesMs: 5, budgetShare: Math.round(share * 100) / 100 },
        "the encode budget follows this machine's measured VP8 speed",
      );
    } catch (err) {
      this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "the encode budget could not follow the measured speed");
    } finally {
      this.reading = false;
    }
  }
}
