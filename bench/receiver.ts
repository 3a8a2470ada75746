/**
 * The receiving WebRTC peer, in its own process (forked by bench/run.ts, run under tsx), so its decoding is not
 * counted as the bot's CPU. It logs in as the Matrix user with matrix-js-sdk (test/harness/callee.ts), answers every
 * call the bot rings at once, and reads the stamp (bench/stamp.ts) from every decoded frame with wrtc's
 * nonstandard.RTCVideoSink. It also answers plain peer connections (no Matrix) for the reference pipeline and the
 * encode floor. Its MatrixRTC side (rings, joins, rtc-node decoding) is bench/rtc-callee.ts. Per-frame samples go
 * to the parent over IPC, batched every 250 ms.
 */
import { MediaStream, RTCPeerConnection } from "../src/rtc/wrtc.ts";
import { startCallee, type Callee, type IncomingCall } from "../test/harness/callee.ts";
import { toneDeviceId, toneMic } from "../test/harness/tone-mic.ts";
import { VideoSinks } from "../test/harness/remote-video.ts";
import { loadSdkVoip, type I420Frame, type WrtcStream } from "../test/harness/webrtc-env.ts";
import { gatheredDescription } from "./plain-link.ts";
import type { FromReceiver, InboundVideoStats, SampleBatch, ToReceiver } from "./protocol.ts";
import { RtcCallee } from "./rtc-callee.ts";
import { nowMs, readStamp } from "./stamp.ts";

const FLUSH_MS = 250;
const MAX_PENDING_SAMPLES = 100_000;

function send(msg: FromReceiver): void {
  if (process.send && process.connected) process.send(msg);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Reads the stamp of every frame of one stream. */
class StreamProbe {
  private readonly sinks = new VideoSinks((frame) => {
    this.onFrame(frame);
  }, false);
  private batch: SampleBatch;
  private pending = 0;
  first = true;
  answerStart: number | undefined;

  constructor(readonly key: string) {
    this.batch = { key, at: [], latency: [], seq: [], width: 0, height: 0 };
  }

  get stopped(): boolean {
    return this.sinks.stopped;
  }

  attach(stream: WrtcStream | undefined): void {
    this.sinks.attach(stream);
  }

  private onFrame(frame: I420Frame): void {
    const at = nowMs();
    const stamp = readStamp(frame);
    if (this.first) {
      this.first = false;
      send({ t: "first-frame", key: this.key, at, width: frame.width, height: frame.height, answerStart: this.answerStart });
    }
    if (this.pending >= MAX_PENDING_SAMPLES) return;
    this.pending++;
    this.batch.at.push(at);
    this.batch.latency.push(stamp ? at - stamp.ms : Number.NaN);
    this.batch.seq.push(stamp ? stamp.seq : -1);
    this.batch.width = frame.width;
    this.batch.height = frame.height;
  }

  take(): SampleBatch | undefined {
    if (this.batch.at.length === 0) return undefined;
    const out = this.batch;
    this.batch = { key: this.key, at: [], latency: [], seq: [], width: out.width, height: out.height };
    this.pending = 0;
    return out;
  }

  stop(): void {
    this.sinks.stop();
  }
}

const probes = new Map<string, StreamProbe>();
/** The peer connection behind each stream key (Matrix calls and plain links). */
const peerOf = new Map<string, () => RTCPeerConnection | undefined>();
const calls = new Map<string, IncomingCall>();
const plain = new Map<string, RTCPeerConnection>();
let callee: Callee | undefined;
let rtcCallee: RtcCallee | undefined;
let ringLoop: Promise<void> | undefined;
let stopping = false;

const flushTimer = setInterval(() => {
  const batches: SampleBatch[] = [];
  for (const probe of probes.values()) {
    const b = probe.take();
    if (b) batches.push(b);
  }
  batches.push(...(rtcCallee?.take() ?? []));
  if (batches.length > 0) send({ t: "samples", batches });
}, FLUSH_MS);

function remoteStream(call: IncomingCall): WrtcStream | undefined {
  const feed = call.call.remoteUsermediaFeed ?? call.call.getRemoteFeeds()[0];
  return feed?.stream as unknown as WrtcStream | undefined;
}

async function handleCall(incoming: IncomingCall): Promise<void> {
  const voip = await loadSdkVoip();
  const key = `m:${incoming.roomId}#${incoming.callId}`;
  probes.get(key)?.stop();
  const probe = new StreamProbe(key);
  probes.set(key, probe);
  calls.set(incoming.roomId, incoming);
  peerOf.set(key, () => incoming.call.peerConn);
  send({ t: "ring", key, roomId: incoming.roomId, callId: incoming.callId, at: nowMs() });
  const attach = (): void => {
    probe.attach(remoteStream(incoming));
  };
  incoming.call.on(voip.CallEvent.FeedsChanged, attach);
  attach();
  void incoming.ended().then((info) => {
    probe.stop();
    send({ t: "ended", key, reason: info.hangupReason });
  });
  probe.answerStart = nowMs();
  await incoming.answer();
  const answerDone = nowMs();
  attach();
  send({ t: "answered", key, answerStart: probe.answerStart, answerDone });
}

async function ringForever(c: Callee): Promise<void> {
  // Bounded: ends when the receiver stops; each wait is bounded by its own timeout.
  while (!stopping) {
    let incoming: IncomingCall;
    try {
      incoming = await c.nextIncomingCall(5_000);
    } catch {
      continue; // nobody rang within 5 s: wait again (or stop)
    }
    handleCall(incoming).catch((err: unknown) => {
      send({ t: "error", message: `answering ${incoming.callId}: ${errorText(err)}` });
    });
  }
}

async function plainOffer(id: string, sdp: string): Promise<void> {
  const key = `p:${id}`;
  const pc = new RTCPeerConnection({ iceServers: [] });
  plain.set(id, pc);
  const probe = new StreamProbe(key);
  probes.set(key, probe);
  peerOf.set(key, () => pc);
  pc.ontrack = (ev) => {
    const stream = ev.streams[0] as unknown as WrtcStream | undefined;
    probe.attach(stream ?? (new MediaStream([ev.track]) as unknown as WrtcStream));
  };
  probe.answerStart = nowMs();
  await pc.setRemoteDescription({ type: "offer", sdp });
  const followed = gatheredDescription(pc);
  await followed.set(await pc.createAnswer());
  const local = await followed.sdp(3_000);
  send({ t: "plain-answer", id, sdp: local, answeredAt: nowMs() });
}

function num(report: Record<string, unknown>, name: string): number {
  const v = report[name];
  return typeof v === "number" ? v : 0;
}

async function inboundStats(): Promise<Record<string, InboundVideoStats>> {
  const out: Record<string, InboundVideoStats> = {};
  for (const [key, probe] of probes) {
    const pc = peerOf.get(key)?.();
    if (probe.stopped || !pc || pc.signalingState === "closed") continue;
    const report = await pc.getStats();
    report.forEach((r: Record<string, unknown>) => {
      if (r["type"] !== "inbound-rtp" || r["kind"] !== "video") return;
      out[key] = {
        jitterBufferDelay: num(r, "jitterBufferDelay"),
        jitterBufferEmittedCount: num(r, "jitterBufferEmittedCount"),
        totalDecodeTime: num(r, "totalDecodeTime"),
        framesDecoded: num(r, "framesDecoded"),
        totalProcessingDelay: num(r, "totalProcessingDelay"),
        framesReceived: num(r, "framesReceived"),
        framesDropped: num(r, "framesDropped"),
        nackCount: num(r, "nackCount"),
        pliCount: num(r, "pliCount"),
        packetsLost: num(r, "packetsLost"),
        totalAssemblyTime: num(r, "totalAssemblyTime"),
        framesAssembledFromMultiplePackets: num(r, "framesAssembledFromMultiplePackets"),
      };
    });
  }
  Object.assign(out, await rtcCallee?.stats());
  return out;
}

async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(flushTimer);
  for (const probe of probes.values()) probe.stop();
  for (const pc of plain.values()) pc.close();
  plain.clear();
  await rtcCallee?.stop();
  try {
    await callee?.stop();
  } catch (err: unknown) {
    send({ t: "error", message: `callee stop: ${errorText(err)}` });
  }
  await ringLoop;
}

process.on("message", (raw: unknown) => {
  const msg = raw as ToReceiver;
  switch (msg.t) {
    case "login":
      void (async () => {
        try {
          callee = await startCallee({ ...msg.login });
          rtcCallee = await RtcCallee.attach(callee.client, msg.login, send);
          ringLoop = ringForever(callee);
          send({ t: "logged-in", userId: msg.login.userId });
        } catch (err: unknown) {
          send({ t: "error", message: `login: ${errorText(err)}` });
        }
      })();
      return;
    case "hangup": {
      const call = calls.get(msg.roomId);
      if (call && !call.isEnded()) call.hangup();
      return;
    }
    case "plain-offer":
      plainOffer(msg.id, msg.sdp).catch((err: unknown) => {
        send({ t: "error", message: `plain offer ${msg.id}: ${errorText(err)}` });
      });
      return;
    case "plain-close": {
      probes.get(`p:${msg.id}`)?.stop();
      probes.delete(`p:${msg.id}`);
      plain.get(msg.id)?.close();
      plain.delete(msg.id);
      peerOf.delete(`p:${msg.id}`);
      return;
    }
    case "stats":
      inboundStats()
        .then((stats) => {
          send({ t: "stats", reqId: msg.reqId, stats });
        })
        .catch((err: unknown) => {
          send({ t: "error", message: `stats: ${errorText(err)}` });
          send({ t: "stats", reqId: msg.reqId, stats: {} });
        });
      return;
    case "tone":
      void (async () => {
        try {
          if (!callee) throw new Error("not logged in");
          await callee.client.getMediaHandler().setAudioInput(toneDeviceId(msg.hz));
          rtcCallee?.setTone(msg.hz);
          send({ t: "tone-set", hz: msg.hz });
        } catch (err: unknown) {
          send({ t: "error", message: `tone: ${errorText(err)}` });
        }
      })();
      return;
    case "talk":
      toneMic.talk(msg.on);
      send({ t: "talked", reqId: msg.reqId, at: msg.on ? (toneMic.onsets.at(-1) ?? nowMs()) : nowMs() });
      return;
    case "rtc-join":
      (rtcCallee ? rtcCallee.join(msg.roomId, msg.serviceUrl, msg.reqId) : Promise.reject(new Error("not logged in"))).then(
        send,
        (err: unknown) => {
          send({ t: "rtc-join-failed", reqId: msg.reqId, message: errorText(err) });
        },
      );
      return;
    case "rtc-leave":
      rtcCallee?.leave(msg.roomId).catch((err: unknown) => {
        send({ t: "error", message: `leaving the MatrixRTC call in ${msg.roomId}: ${errorText(err)}` });
      });
      return;
    case "stop":
      void stopAll().finally(() => {
        send({ t: "stopped" });
        setTimeout(() => process.exit(0), 100).unref();
      });
      return;
  }
});

// The parent is gone: stop at once (never outlive the benchmark).
process.on("disconnect", () => {
  void stopAll().finally(() => process.exit(0));
});

send({ t: "ready", pid: process.pid });
