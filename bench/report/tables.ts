/** The run's tables as text for the terminal: windows, where the WebRTC part goes, time to first frame, talkback, targets. */
import { fmt, max, median, percentile } from "../stats.ts";
import { rtcRows } from "./matrixrtc.ts";
import type { Results } from "./results.ts";
import { computeTargets, verdict } from "./targets.ts";

function table(rows: string[][], right: boolean[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => ((right[i] ?? false) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}

function windowsTable(r: Results): string[] {
  const rows: string[][] = [
    [
      "scenario",
      "calls",
      "cams",
      "delivered",
      "fps/call min",
      "mean",
      "lat p50",
      "p95",
      "max",
      "misread",
      "src fps",
      "src p50",
      "src p95",
      "loop p99",
      "bot CPU%",
      "front end%",
      "bot RSS MB",
      "recv CPU%",
      "cam CPU%",
      "RTSP sess",
    ],
  ];
  for (const w of r.windows) {
    const floor = w.kind === "decode-floor";
    rows.push([
      w.name,
      String(w.calls),
      String(w.cameras),
      w.delivered.join(",") || "–",
      fmt(w.fps.min, 1),
      fmt(w.fps.mean, 1),
      fmt(w.latency.p50),
      fmt(w.latency.p95),
      fmt(w.latency.max),
      w.latency.samples + w.latency.misreads > 0 ? String(w.latency.misreads) : "–",
      fmt(w.source?.fpsMin, 1),
      fmt(w.source?.latency.p50),
      fmt(w.source?.latency.p95),
      fmt(w.loopDelayMs?.p99),
      fmt(floor ? w.cpu["floorFfmpeg"] : w.cpu["bot"]),
      fmt(floor ? w.cpu["floorFfmpeg"] : w.cpu["botFrontEnd"]),
      fmt(w.rssMB["bot"]?.mean),
      fmt(w.cpu["receiver"]),
      fmt(w.cpu["cameras"]),
      w.rtspSessions ? w.rtspSessions.join("/") : "–",
    ]);
  }
  return [
    table(rows, rows[0]?.map((_, i) => i !== 0 && i !== 3 && i !== 19) ?? []),
    "",
    "latency = receiver's decoded-frame arrival − the camera's capture stamp, ms. CPU = % of one core (utime+stime over the window).",
    "bot = the bench process (bot in-process, idle Matrix sync, bench bookkeeping) + its camera front ends (ffmpeg or gst-launch-1.0 children; keepers excluded);",
    "for decode-floor rows the CPU columns are that ffmpeg alone. recv = the receiver process; cam = GStreamer cameras + keepers.",
    "src = at the bot's RTCVideoSource input: frames handed to wrtc per second (worst camera) and their latency since capture,",
    "so lat − src = wrtc encode + RTP + receiver jitter buffer + decode. loop p99 = event-loop delay of the bot's thread (ms).",
  ];
}

function breakdownTable(r: Results): string[] {
  const rows: string[][] = [
    [
      "where the wrtc part goes (ms)",
      "lat p50",
      "src p50",
      "lat−src",
      "encode/frame",
      "pacer/packet",
      "frame KB",
      "sent kbit/s",
      "QP",
      "spread/frame",
      "jitter buf/frame",
      "1st pkt→decoded",
      "decode/frame",
      "encoded fps/stream",
      "recv dropped",
      "NACK",
      "PLI",
      "quality limited by",
    ],
  ];
  for (const w of r.windows) {
    const b = w.webrtc;
    if (!b) continue;
    const src = w.source?.latency.p50;
    rows.push([
      w.name,
      fmt(w.latency.p50),
      fmt(src),
      fmt(w.latency.p50 !== undefined && src !== undefined ? w.latency.p50 - src : undefined),
      fmt(b.encodeMs, 1),
      fmt(b.pacerMsPerPacket, 1),
      fmt(b.frameBytes !== undefined ? b.frameBytes / 1000 : undefined, 1),
      fmt(b.sentKbps),
      fmt(b.qp),
      fmt(b.spreadMs, 1),
      fmt(b.jitterBufferMs, 1),
      fmt(b.processingMs, 1),
      fmt(b.decodeMs, 1),
      fmt(b.encodedFps, 1),
      String(b.framesDroppedAtReceiver),
      String(b.nacks),
      String(b.plis),
      Object.entries(b.qualityLimitation)
        .map(([k, v]) => `${k}×${v}`)
        .join(" ") || "–",
    ]);
  }
  if (rows.length === 1) return [];
  return [
    table(rows, rows[0]?.map((_, i) => i !== 0 && i !== 17) ?? []),
    "getStats() deltas over the window: encode, pacer, frame size, send rate and quantiser (VP8 0–127) at the sender;",
    "spread (first → last packet of a frame), jitter buffer (from a frame's first packet), first packet → decoded and decode at the receiver.",
  ];
}

function memoryTable(r: Results): string[] {
  const rows: string[][] = [
    [
      "where the bot's memory is (MB)",
      "calls",
      "bot+front ends",
      "front ends",
      "bot RSS",
      "code",
      "brk heap",
      "arenas (n)",
      "stacks",
      "anon",
      "V8 heap",
      "external",
      "threads",
    ],
  ];
  for (const w of r.windows) {
    const m = w.memory;
    if (!m || (w.kind !== "bot" && w.kind !== "idle")) continue;
    rows.push([
      w.name,
      String(w.calls),
      fmt(w.rssMB["bot"]?.mean),
      fmt(w.rssMB["botFrontEnd"]?.mean),
      fmt(m.rssMB),
      fmt(m.code),
      fmt(m.brk),
      `${fmt(m.arenas)} (${String(m.arenaHeaps)})`,
      fmt(m.stacks, 1),
      fmt(m.anon),
      fmt(m.v8Heap),
      fmt(m.external),
      m.threads === undefined ? "–" : String(m.threads),
    ]);
  }
  if (rows.length === 1) return [];
  return [
    table(rows, rows[0]?.map((_, i) => i !== 0) ?? []),
    "bot+front ends, front ends = mean RSS over the window; the rest is the bot process at the window's end, from /proc/<pid>/smaps: brk heap =",
    "glibc's main arena, arenas = its per-thread arenas (64 MiB heaps mapped), anon = other anonymous memory (the V8 heap among it),",
    "and V8's own heap and external figures (bench/measure/memory.ts).",
  ];
}

function ttffTable(r: Results): string[] {
  if (r.ttff.length === 0) return [];
  const rows: string[][] = [
    [
      "time to first frame (ms)",
      "n",
      "median",
      "max",
      "!call or press→invite",
      "bot's part",
      "!call or press→ring",
      "js-sdk answer()",
      "answer→bot connecting",
      "answer rcvd→1st frame",
      "answer→bot ICE connected",
      "!call→camera 1st frame",
      "call/start→1st frame",
      "1st frame size",
    ],
  ];
  for (const t of r.ttff) {
    const main = t.answerToFirstFrame.length > 0 ? t.answerToFirstFrame : t.callToFirstFrame;
    rows.push([
      t.name,
      String(main.length),
      fmt(median(main)),
      fmt(max(main)),
      fmt(median(t.callToInvite)),
      fmt(median(t.commandToInvite ?? [])),
      fmt(median(t.callToRing)),
      fmt(median(t.answerCall)),
      fmt(median(t.answerToBotConnecting)),
      fmt(median(t.answerReceivedToFirstFrame ?? [])),
      fmt(median(t.answerToBotConnected)),
      fmt(median(t.callToCameraFirstFrame)),
      fmt(median(t.callToFirstFrame)),
      [...new Set(t.firstSizes)].join(",") || "–",
    ]);
  }
  return [
    table(rows, rows[0]?.map((_, i) => i !== 0 && i !== 13) ?? []),
    "median/max = answer → first decoded frame (reference: offer received → first frame); the other columns are medians.",
    "bot's part = the bot's client had the !call (the homeserver's /sync brought it) → the invite sent.",
  ];
}

function talkbackTable(r: Results): string[] {
  if (r.talkback.length === 0) return [];
  const rows: string[][] = [["talkback mouth → door (ms)", "bursts", "lost", "p50", "p95", "max", "slope ms/min", "note"]];
  for (const t of r.talkback) {
    const ok = t.latencies.filter(Number.isFinite);
    rows.push([
      t.path,
      String(t.latencies.length),
      String(t.lost),
      fmt(percentile(ok, 50)),
      fmt(percentile(ok, 95)),
      fmt(max(ok)),
      fmt(t.slopeMsPerMin, 2),
      t.note ?? "",
    ]);
  }
  return [table(rows, [false, true, true, true, true, true, true, false])];
}

export function textReport(r: Results): string {
  const targets = computeTargets(r);
  const trows = [["figure", "target", "measured", "verdict"], ...targets.map((t) => [t.figure, t.target, t.measured, verdict(t)])];
  const rtc = rtcRows(r);
  const rtcTable = rtc.length > 0 ? [table(rtc, [false, true, true, true])] : [];
  const parts = [
    windowsTable(r),
    breakdownTable(r),
    memoryTable(r),
    ttffTable(r),
    talkbackTable(r),
    rtcTable,
    [table(trows, [false, false, false, false])],
  ].filter((p) => p.length > 0);
  return parts.map((p) => p.join("\n")).join("\n\n");
}
