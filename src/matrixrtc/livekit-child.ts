/**
 * The LiveKit process: where the bot's MatrixRTC calls run rtc-node (livekit-process.ts starts it and is its one
 * owner). rtc-node 1.1 keeps ~0.45 MB of native memory for every Room it has connected, and nothing in its API
 * gives it back (docs/matrixrtc.md, upstream livekit/node-sdks#514); a process that ends gives it all back, so the
 * bot runs its calls here and replaces this process when it is idle and worn (livekit-host.ts). A crash of rtc-node's
 * native part ends the calls in here, not the bot.
 *
 * Each call is the same LiveKitPublisher the bot would run itself, fed by the media pipe (fd 3) instead of a camera
 * lease: the bot keeps the lease and sends each camera's frames once, as a stream that every call showing that camera
 * here is on (media-pipe.ts, camera-streams.ts). Control is the IPC channel (livekit-wire.ts).
 * Log lines are JSON on stdout, which the bot writes to its own log. When the bot goes (the IPC channel closes), the
 * calls are left and the process exits.
 */
import net from "node:net";
import { createLogger, errorMessage, type Logger } from "../util/logger.ts";
import { stepWithin } from "../util/deadline.ts";
import type { CameraMediaHandlers } from "../media/camera-media.ts";
import { DISCONNECT_WITHIN_MS, LiveKitPublisher } from "./livekit-publisher.ts";
import { FromChild, ToChild } from "./livekit-wire.ts";
import { MediaReader } from "./media-pipe.ts";
import { loadRtcNode, setRtcNodeLogger, type RtcNode } from "./rtc-node.ts";

process.title = "mcc-livekit";

interface Call {
  publisher: LiveKitPublisher;
  /** The media-pipe stream the call shows (the bot's `feed`), if any. */
  stream: number | undefined;
  /** Where the call's media from the pipe goes while the publisher taps it. */
  media(): CameraMediaHandlers | undefined;
  voice: { stop(): void } | undefined;
}

const calls = new Map<number, Call>();
const log = createLogger({ destination: process.stdout, pretty: false }).child({ component: "livekit-process" });

function send(message: FromChild): void {
  // With a callback: a bot that has just gone fails the write there, not as an 'error' event.
  if (process.connected) process.send?.(message, undefined, undefined, () => undefined);
}

function exit(code: number): void {
  // process.exit: a process that used rtc-node and ends by running out of work can crash in its native finalizers.
  process.exit(code);
}

function start(rtc: RtcNode, m: Extract<ToChild, { t: "start" }>): void {
  if (calls.has(m.id)) return;
  const callLog: Logger = log.child(m.log);
  let tapped: CameraMediaHandlers | undefined;
  // The bot holds the camera's lease (and lets it go): this feed only passes on what the pipe brings.
  const feed = {
    camera: m.trackName,
    tap: (handlers: CameraMediaHandlers) => {
      tapped = handlers;
      return {
        stop: () => {
          if (tapped === handlers) tapped = undefined;
        },
      };
    },
    release: () => undefined,
  };
  const publisher = new LiveKitPublisher(rtc, feed, callLog, m.trackName);
  calls.set(m.id, { publisher, stream: undefined, media: () => tapped, voice: undefined });
  const { id } = m;
  publisher.on("connected", () => {
    send({ t: "connected", id, peers: publisher.peers() });
  });
  publisher.on("videoPublished", ({ width, height }) => {
    send({ t: "videoPublished", id, width, height });
  });
  publisher.on("peerJoined", (joined) => {
    send({ t: "peers", id, peers: publisher.peers(), joined });
  });
  publisher.on("peerLeft", (left) => {
    send({ t: "peers", id, peers: publisher.peers(), left });
  });
  publisher.on("link", (up) => {
    send({ t: "link", id, up, peers: publisher.peers() });
  });
  publisher.on("ended", (reason) => {
    calls.delete(id);
    send({ t: "ended", id, reason });
  });
  publisher.start(m.url, m.token).then(
    () => {
      send({ t: "started", id });
    },
    (err: unknown) => {
      send({ t: "startFailed", id, error: errorMessage(err) });
    },
  );
}

function handle(rtc: RtcNode, raw: unknown): void {
  const parsed = ToChild.safeParse(raw);
  if (!parsed.success) {
    log.warn({ err: parsed.error.message }, "a message from the bot that does not parse: ignored");
    return;
  }
  const m = parsed.data;
  if (m.t === "start") {
    start(rtc, m);
    return;
  }
  const call = calls.get(m.id);
  if (call === undefined) {
    // The call has ended here already (its `ended` is on its way): an encode question still gets its answer.
    if (m.t === "encode") send({ t: "encoded", id: m.id, req: m.req, figures: null });
    return;
  }
  switch (m.t) {
    case "stop":
      void call.publisher.stop();
      return;
    case "feed":
      call.stream = m.stream ?? undefined;
      return;
    case "listen":
      call.voice?.stop();
      call.voice = call.publisher.listen(m.callee, (samples, channels) => {
        send({ t: "voice", id: m.id, samples, channels });
      });
      return;
    case "unlisten":
      call.voice?.stop();
      call.voice = undefined;
      return;
    case "encode":
      call.publisher.videoEncode().then(
        (figures) => {
          send({ t: "encoded", id: m.id, req: m.req, figures: figures ?? null });
        },
        () => {
          send({ t: "encoded", id: m.id, req: m.req, figures: null });
        },
      );
      return;
  }
}

/** The bot has gone or let this process go: every call leaves LiveKit (bounded), then the process exits. */
async function leaveAll(): Promise<void> {
  const stopping = Promise.allSettled([...calls.values()].map((c) => c.publisher.stop()));
  await stepWithin(Date.now() + DISCONNECT_WITHIN_MS + 1000, () => stopping);
  exit(0);
}

async function main(): Promise<void> {
  process.on("disconnect", () => {
    void leaveAll();
  });
  // Ctrl-C reaches the whole process group and systemd signals the whole unit: the bot, which gets the same signal,
  // ends its calls through this process and then lets it go (the channel closes); dying at once would leave them.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined);
  setRtcNodeLogger(log);
  const loaded = await loadRtcNode();
  if (!loaded.ok) {
    send({ t: "unavailable", reason: loaded.reason });
    exit(0);
    return;
  }
  const { rtc } = loaded;
  const reader = new MediaReader((r) => {
    // Every call on the stream gets the same bytes: rtc-node copies a frame in captureFrame, LiveKitAudio its samples.
    for (const call of calls.values()) {
      if (call.stream !== r.stream) continue;
      const handlers = call.media();
      if (r.kind === "video") handlers?.video(r.frame);
      else handlers?.audio(r.chunk);
    }
  });
  const media = new net.Socket({ fd: 3, readable: true, writable: false });
  media.on("data", (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch (err: unknown) {
      // Only a bug makes a record the reader refuses; the stream is out of step from there on.
      log.error({ err: errorMessage(err) }, "the media pipe is broken: the LiveKit process ends its calls");
      media.destroy();
      void leaveAll();
    }
  });
  media.on("error", () => undefined);
  process.on("message", (raw) => {
    handle(rtc, raw);
  });
  send({ t: "ready" });
}

process.on("unhandledRejection", (err) => {
  log.error({ err: errorMessage(err) }, "unhandled rejection in the LiveKit process");
});
void main();
