/** What a call's video sender has done, read from wrtc's getStats (peer-link.ts videoStats()). */
/** A call's video sender, from getStats. */
export interface VideoSendStats {
  framesSent: number;
  framesPerSecond: number;
  width: number;
  height: number;
  qualityLimitation: string;
  /**
   * Cumulative encoder and pacer counters (outbound-rtp), for figures over a window: the bench reads encode time per
   * frame, pacer delay per packet, frame size and quantiser from their deltas. Times in seconds, as getStats gives them.
   */
  counters: {
    framesEncoded: number;
    totalEncodeTime: number;
    packetsSent: number;
    totalPacketSendDelay: number;
    bytesSent: number;
    qpSum: number;
  };
  /** Times libwebrtc itself changed the picture size (CPU or bandwidth adaptation). */
  resolutionChanges: number;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** One outbound-rtp video entry of getStats; a missing or odd number reads as 0. */
export function parseVideoStats(s: Record<string, unknown>): VideoSendStats {
  const limitation = s["qualityLimitationReason"];
  return {
    framesSent: num(s["framesSent"]),
    framesPerSecond: num(s["framesPerSecond"]),
    width: num(s["frameWidth"]),
    height: num(s["frameHeight"]),
    qualityLimitation: typeof limitation === "string" ? limitation : "unknown",
    counters: {
      framesEncoded: num(s["framesEncoded"]),
      totalEncodeTime: num(s["totalEncodeTime"]),
      packetsSent: num(s["packetsSent"]),
      totalPacketSendDelay: num(s["totalPacketSendDelay"]),
      bytesSent: num(s["bytesSent"]),
      qpSum: num(s["qpSum"]),
    },
    resolutionChanges: num(s["qualityLimitationResolutionChanges"]),
  };
}
