/**
 * Where the WebRTC part of the latency goes, from getStats() deltas over a window: encode time per frame and pacer
 * delay per packet at the sender, jitter buffer, first packet → decoded and decode time at the receiver. With them
 * the frame size, send rate and quantiser, and the spread of a frame's packets at the receiver: the pacer sends a
 * frame at about the bandwidth estimate, so its packets arrive spread over size / estimate (25.7 ms for 19.1 KB
 * frames on loopback), and the jitter buffer holds it that long plus ~11 ms (docs/benchmark.md, 2026-12-01).
 * The bot's senders are read through the call's public `videoStats()` (the typed probe /metrics uses too).
 */
import type { App } from "../../src/app.ts";
import type { VideoSendStats } from "../../src/rtc/video-send-stats.ts";
import type { InboundVideoStats } from "../protocol.ts";

export type SenderSample = Pick<VideoSendStats, "counters" | "qualityLimitation">;
/** The senders of a scenario, by a stable id: a snapshot of their cumulative counters. */
export type Senders = () => Promise<Map<string, SenderSample>>;

export interface WebrtcBreakdown {
  /** Sender: encode time per encoded frame, ms; frames encoded per second per stream; pacer delay per packet, ms. */
  encodeMs: number | undefined;
  encodedFps: number | undefined;
  pacerMsPerPacket: number | undefined;
  /** Sender: bytes per encoded frame; kbit/s sent per stream; mean quantiser (qpSum per frame; VP8 0–127). */
  frameBytes: number | undefined;
  sentKbps: number | undefined;
  qp: number | undefined;
  /** Sender: streams by qualityLimitationReason at the end of the window. */
  qualityLimitation: Record<string, number>;
  /** Receiver: jitter-buffer time per emitted frame; first packet → decoded per frame; decode time per frame, ms. */
  jitterBufferMs: number | undefined;
  processingMs: number | undefined;
  decodeMs: number | undefined;
  /** Receiver: first → last packet of a frame (totalAssemblyTime per frame assembled from several packets), ms. */
  spreadMs: number | undefined;
  framesDroppedAtReceiver: number;
  nacks: number;
  plis: number;
}

export const noSenders: Senders = () => Promise.resolve(new Map<string, SenderSample>());

/** The bot's calls in these rooms, through CallManager.callInRoom(...).videoStats(). */
export function botSenders(app: App, rooms: () => readonly string[]): Senders {
  return async () => {
    const out = new Map<string, SenderSample>();
    for (const roomId of rooms()) {
      const stats = await app.calls
        .callInRoom(roomId)
        ?.videoStats()
        .catch(() => undefined);
      if (stats) out.set(roomId, stats);
    }
    return out;
  };
}

function num(r: Record<string, unknown>, name: string): number {
  const v = r[name];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/** The bench's own peer connections (reference calls, encode floor). */
export function localSenders(pcs: () => readonly RTCPeerConnection[]): Senders {
  return async () => {
    const out = new Map<string, SenderSample>();
    let i = 0;
    for (const pc of pcs()) {
      const id = `pc${i++}`;
      if (pc.signalingState === "closed") continue;
      const report = await pc.getStats().catch(() => undefined);
      report?.forEach((r: Record<string, unknown>) => {
        if (r["type"] !== "outbound-rtp" || r["kind"] !== "video") return;
        const reason = r["qualityLimitationReason"];
        out.set(id, {
          qualityLimitation: typeof reason === "string" ? reason : "?",
          counters: {
            framesEncoded: num(r, "framesEncoded"),
            totalEncodeTime: num(r, "totalEncodeTime"),
            packetsSent: num(r, "packetsSent"),
            totalPacketSendDelay: num(r, "totalPacketSendDelay"),
            bytesSent: num(r, "bytesSent"),
            qpSum: num(r, "qpSum"),
          },
        });
      });
    }
    return out;
  };
}

const ratio = (num: number, den: number, scale = 1): number | undefined => (den > 0 ? (num / den) * scale : undefined);

const ZERO_IN: InboundVideoStats = {
  jitterBufferDelay: 0,
  jitterBufferEmittedCount: 0,
  totalDecodeTime: 0,
  framesDecoded: 0,
  totalProcessingDelay: 0,
  framesReceived: 0,
  framesDropped: 0,
  nackCount: 0,
  pliCount: 0,
  packetsLost: 0,
  totalAssemblyTime: 0,
  framesAssembledFromMultiplePackets: 0,
};
const ZERO_OUT: SenderSample["counters"] = {
  framesEncoded: 0,
  totalEncodeTime: 0,
  packetsSent: 0,
  totalPacketSendDelay: 0,
  bytesSent: 0,
  qpSum: 0,
};

export function breakdown(
  out0: Map<string, SenderSample>,
  out1: Map<string, SenderSample>,
  in0: Record<string, InboundVideoStats>,
  in1: Record<string, InboundVideoStats>,
  keys: readonly string[],
  seconds: number,
): WebrtcBreakdown {
  let frames = 0;
  let encode = 0;
  let packets = 0;
  let sendDelay = 0;
  let bytes = 0;
  let qpSum = 0;
  const qualityLimitation: Record<string, number> = {};
  for (const [id, b] of out1) {
    const a = out0.get(id)?.counters ?? ZERO_OUT;
    frames += b.counters.framesEncoded - a.framesEncoded;
    encode += b.counters.totalEncodeTime - a.totalEncodeTime;
    packets += b.counters.packetsSent - a.packetsSent;
    sendDelay += b.counters.totalPacketSendDelay - a.totalPacketSendDelay;
    bytes += b.counters.bytesSent - a.bytesSent;
    qpSum += b.counters.qpSum - a.qpSum;
    qualityLimitation[b.qualityLimitation] = (qualityLimitation[b.qualityLimitation] ?? 0) + 1;
  }
  const d = { jb: 0, emitted: 0, decode: 0, decoded: 0, processing: 0, dropped: 0, nacks: 0, plis: 0, assembly: 0, assembled: 0 };
  for (const key of keys) {
    const b = in1[key];
    if (!b) continue;
    const a = in0[key] ?? ZERO_IN;
    d.jb += b.jitterBufferDelay - a.jitterBufferDelay;
    d.emitted += b.jitterBufferEmittedCount - a.jitterBufferEmittedCount;
    d.decode += b.totalDecodeTime - a.totalDecodeTime;
    d.decoded += b.framesDecoded - a.framesDecoded;
    d.processing += b.totalProcessingDelay - a.totalProcessingDelay;
    d.dropped += b.framesDropped - a.framesDropped;
    d.nacks += b.nackCount - a.nackCount;
    d.plis += b.pliCount - a.pliCount;
    d.assembly += b.totalAssemblyTime - a.totalAssemblyTime;
    d.assembled += b.framesAssembledFromMultiplePackets - a.framesAssembledFromMultiplePackets;
  }
  return {
    encodeMs: ratio(encode, frames, 1000),
    encodedFps: out1.size > 0 ? frames / seconds / out1.size : undefined,
    pacerMsPerPacket: ratio(sendDelay, packets, 1000),
    frameBytes: ratio(bytes, frames),
    sentKbps: out1.size > 0 ? (bytes * 8) / seconds / 1000 / out1.size : undefined,
    qp: ratio(qpSum, frames),
    qualityLimitation,
    jitterBufferMs: ratio(d.jb, d.emitted, 1000),
    processingMs: ratio(d.processing, d.decoded, 1000),
    decodeMs: ratio(d.decode, d.decoded, 1000),
    spreadMs: ratio(d.assembly, d.assembled, 1000),
    framesDroppedAtReceiver: d.dropped,
    nacks: d.nacks,
    plis: d.plis,
  };
}
