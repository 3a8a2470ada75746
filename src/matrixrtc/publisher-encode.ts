/**
 * A MatrixRTC call's VP8 encoder figures, for the encode budget's speed watch (encode-speed-watch.ts): rtc-node has no
 * getStats() on a track (1.1.0, the newest served), but Room.getRtcStats() gives the publisher connection's W3C
 * stats, whose outbound-rtp video entry carries the same figures wrtc's getStats gives the legacy calls (encode time
 * in seconds, frames encoded, frame size, libwebrtc's own size changes). Its encoder is as fast as wrtc's, so one
 * reference serves both: 8.5 against 8.6 ms a 720p frame, the same rig camera in one process, each alone for 15 s
 * (docs/benchmark.md, 2026-12-02). Parsed by a schema: it is rtc-node's output, read through protobuf messages whose
 * fields are all optional.
 */
import { z } from "zod";
import type { CallEncodeFigures } from "../media/encode-speed-watch.ts";

export type VideoEncodeFigures = CallEncodeFigures["video"];

/** One entry of getRtcStats()'s publisherStats, as far as it is read here (the rest of the oneof is not). */
export interface RtcStatsEntry {
  stats: { case: string | undefined; value?: unknown };
}

const OutboundVideo = z.object({
  stream: z.object({ kind: z.literal("video") }),
  outbound: z.object({
    frameWidth: z.number().int().positive(),
    frameHeight: z.number().int().positive(),
    framesEncoded: z.number().nonnegative(),
    totalEncodeTime: z.number().nonnegative(),
    qualityLimitationResolutionChanges: z.number().nonnegative().default(0),
  }),
});

/**
 * The video encoder's figures from the publisher's stats; undefined while no video frame has been encoded. The bot
 * publishes one layer (simulcast off, livekit-publisher.ts); were there several, the largest is the one that costs.
 */
export function videoEncodeFigures(publisherStats: readonly RtcStatsEntry[]): VideoEncodeFigures {
  let best: VideoEncodeFigures;
  for (const { stats } of publisherStats) {
    if (stats.case !== "outboundRtp") continue;
    const parsed = OutboundVideo.safeParse(stats.value);
    if (!parsed.success) continue;
    const o = parsed.data.outbound;
    if (best !== undefined && o.frameWidth * o.frameHeight <= best.width * best.height) continue;
    best = {
      width: o.frameWidth,
      height: o.frameHeight,
      counters: { framesEncoded: o.framesEncoded, totalEncodeTime: o.totalEncodeTime },
      resolutionChanges: o.qualityLimitationResolutionChanges,
    };
  }
  return best;
}
