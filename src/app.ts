/**
 * The composition root: builds every part from a validated config, starts them and returns
 * handles, so `main.ts` only wires process concerns and tests start the whole app in-process.
 */
import { callFigures } from "./call/call-figures.ts";
import { callAdmission } from "./admission/admission.ts";
import { UserCallRate } from "./admission/call-rate.ts";
import { CallManager } from "./call/manager.ts";
import { startDoorbell, type Doorbell } from "./doorbell/index.ts";
import { healthReply } from "./http/health.ts";
import { HttpServer } from "./http/server.ts";
import { Metrics } from "./metrics/metrics.ts";
import type { Config } from "./config/load.ts";
import { AccessList } from "./admission/access.ts";
import { Bot } from "./matrix/bot.ts";
import { RtcIncoming } from "./matrix/rtc-incoming.ts";
import { RtcCommands } from "./matrix/rtc-commands.ts";
import { statusText } from "./matrix/status-text.ts";
import { RingChoices } from "./matrixrtc/ring-choice.ts";
import { combinedEncodeFigures, combinedRegistry } from "./matrixrtc/combined-calls.ts";
import { RtcCalls } from "./matrixrtc/rtc-calls.ts";
import { connectMatrix, type MatrixConnection } from "./matrix/client.ts";
import { sendRoomEvent } from "./matrix/sender.ts";
import { CameraHub } from "./media/camera-hub.ts";
import type { CallEncodeFigures } from "./media/encode-speed-watch.ts";
import { resolveFfmpeg, type FfmpegBinary } from "./media/ffmpeg-path.ts";
import { liveFfmpegCount } from "./media/ffmpeg-process.ts";
import { resolveLeanFfmpeg } from "./media/lean-ffmpeg.ts";
import { applyVideoTrials } from "./rtc/field-trials.ts";
import { TurnCredentials } from "./rtc/turn.ts";
import { openPeerConnectionCount } from "./rtc/wrtc.ts";
import { TalkbackHub } from "./talkback/hub.ts";
import { stepWithin } from "./util/deadline.ts";
import { createLogger, redactUrl, type Logger } from "./util/logger.ts";
import { unhandledRejectionCount } from "./util/rejections.ts";

export interface App {
  config: Config;
  log: Logger;
  matrix: MatrixConnection;
  ffmpeg: FfmpegBinary;
  hub: CameraHub;
  calls: CallManager;
  /** Every call's encoder figures, legacy and MatrixRTC: what the encode budget's speed watch reads. */
  encodeFigures(): Promise<CallEncodeFigures[]>;
  turn: TurnCredentials;
  /** The HTTP listener and its bound address, when `http.listen` is configured. */
  http: { server: HttpServer; host: string; port: number } | undefined;
  doorbell: Doorbell;
  /** Talkback of every camera (the bench reads its mixer levels). */
  talkback: TalkbackHub;
  metrics: Metrics;
  /** Resolves when the app gave up after it started (the first sync with the homeserver failed); it is stopped by then. */
  failed: Promise<Error>;
  /** Hangs up every call, stops syncing and every camera pipeline, all within STOP_BUDGET_MS. Idempotent. */
  stop(): Promise<void>;
}

/** All stop steps together, so that the process (main.ts forces its exit at 5 s) ends cleanly within its budget. */
export const STOP_BUDGET_MS = 4000;

export class StartupError extends Error {}

export interface StartOptions {
  log?: Logger;
}

export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const child = (component: string): Logger => log.child({ component });

  const trials = applyVideoTrials(config.media.videoPacingFactor);
  if (trials.applied)
    log.info(
      { videoPacingFactor: config.media.videoPacingFactor },
      "libwebrtc's video pacing and smaller pictures' caps set (legacy calls)",
    );
  else
    log.warn(
      { why: trials.why },
      "could not set libwebrtc's field trials: legacy calls keep its 1.1 × the estimate for pacing and the 720p cap for scaled pictures",
    );

  const ffmpeg = resolveFfmpeg(config.media.ffmpegPath);
  if ("error" in ffmpeg) throw new StartupError(ffmpeg.error);
  log.info({ ffmpeg: ffmpeg.path, source: ffmpeg.source, version: ffmpeg.version }, "using ffmpeg");
  const lean = resolveLeanFfmpeg(config.media.leanFfmpegPath);
  if ("error" in lean) throw new StartupError(lean.error);
  log.info({ leanFfmpeg: lean.path ?? "none", why: "why" in lean ? lean.why : undefined }, "the lean ffmpeg, for rtsp:// cameras");
  const ffmpegs = { full: ffmpeg.path, lean: lean.path };

  const matrix = await connectMatrix(config, log);
  const client = matrix.client;
  log.info(
    { userId: matrix.userId, deviceId: matrix.deviceId, homeserver: redactUrl(config.homeserver.url) },
    "connected to the homeserver",
  );

  let stopping: Promise<void> | undefined;
  const access = new AccessList(config.allowedUsers);
  const hub = new CameraHub(config.cameras, ffmpegs, log, config.media.idleStopMs, config.media.encodeMegapixelsPerCore);
  const turn = new TurnCredentials(() => client.doRequest("GET", "/_matrix/client/v3/voip/turnServer"), child("turn"));
  const calls = new CallManager(
    hub,
    turn,
    async (roomId, type, content) => {
      // Once stopping, no new call starts: a call still waiting for TURN or admission must not ring after the hangups.
      if (stopping !== undefined && (type === "m.call.invite" || type === "m.call.answer")) throw new Error("shutting down: no new calls");
      await sendRoomEvent(client, roomId, type, content, log);
    },
    {
      inviteLifetimeMs: config.calls.inviteLifetimeMs,
      iceDisconnectedTimeoutMs: config.calls.iceDisconnectedTimeoutMs,
      defaultCamera: config.calls.defaultCamera,
      maxConcurrent: config.calls.maxConcurrent,
    },
    log,
  );
  const talkback = new TalkbackHub(config.cameras, log, (camera, gain) => {
    hub.pipeline(camera)?.setAudioGain(gain);
  });
  calls.on("call", (session) => {
    talkback.watch(session);
  });
  const rtcCalls = new RtcCalls({
    client,
    homeserverUrl: config.homeserver.url,
    accessToken: client.accessToken,
    userId: matrix.userId,
    deviceId: matrix.deviceId,
    livekitServiceUrl: config.matrixRtc.livekitServiceUrl,
    hub,
    log: child("rtc-calls"),
    onCall: (call) => {
      talkback.watch(call);
    },
  });
  const activeCalls = (): number => calls.activeCount() + rtcCalls.count;
  const metrics = new Metrics({
    activeCalls,
    // Process-wide counts (ffmpeg-process.ts and wrtc.ts count every instance they make), injected like the rest.
    peerConnections: openPeerConnectionCount,
    ffmpegProcesses: liveFfmpegCount,
    unhandledRejections: unhandledRejectionCount,
    cameras: () => hub.stats(),
    encodeBudget: () => hub.encodeBudget() / 1e6,
    calls: () => callFigures(calls.sessions()),
    liveKitResidentBytes: () => rtcCalls.liveKitResidentBytes(),
  });
  calls.on("setup", (phase, seconds) => {
    metrics.setupPhase(phase, seconds);
  });
  calls.on("ended", (end) => {
    metrics.callEnded(end);
    log.info(
      { call: end.callId, room: end.roomId, camera: end.camera, party: end.party, reason: end.reason, connected: end.connected },
      "call finished",
    );
  });
  const encodeFigures = (): Promise<CallEncodeFigures[]> => combinedEncodeFigures(calls, rtcCalls);
  if (config.media.encodeBudgetFollowsSpeed) hub.followEncodeSpeed(encodeFigures);
  const status = statusText({ hub, calls, rtcCalls, talkback, turn, encryption: matrix.encryption, ffmpegVersion: ffmpeg.version });
  const admission = callAdmission({
    botUserId: matrix.userId,
    access,
    cameras: config.cameras,
    // A MatrixRTC call is a call in progress: its room is busy, and it counts towards calls.maxConcurrent.
    calls: combinedRegistry(calls, rtcCalls),
    members: (roomId) => client.getJoinedRoomMembers(roomId),
    rate: new UserCallRate(config.calls.maxPerUserPerMinute),
  });
  const ringChoices = new RingChoices(config.dataDir, config.matrixRtc, child("ring-choice"));
  const rtcIncoming = new RtcIncoming({
    notice: (roomId, text) => client.sendNotice(roomId, text),
    botUserId: matrix.userId,
    access,
    rtc: rtcCalls,
    admission,
    defaultCamera: () => calls.defaultCamera(),
    log: child("rtc-incoming"),
  });
  const rtcCommands = new RtcCommands(client, ringChoices, rtcCalls, calls, admission, child("rtc-commands"), rtcIncoming);
  const bot = new Bot(client, matrix.userId, access, config.cameras, calls, log, status, admission, rtcCommands);
  bot.attach(matrix.sync.first);

  let http: App["http"];
  let doorbell: Doorbell | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping");
      // One deadline for every step: a step that overruns is left behind (ffmpeg-process.ts's exit hook SIGKILLs ffmpeg).
      const deadline = Date.now() + STOP_BUDGET_MS;
      const step = async (name: string, run: () => Promise<unknown>): Promise<void> => {
        const { outcome, err } = await stepWithin(deadline, run);
        if (outcome === "failed") log.warn({ step: name, err }, "shutdown step failed");
        if (outcome === "overran") log.warn({ step: name, budgetMs: STOP_BUDGET_MS }, "shutdown step overran the budget; going on");
      };
      // No room is left from here on: the calls' ends below are sent into their rooms.
      bot.stop();
      await step("doorbell", () => doorbell?.stop() ?? Promise.resolve());
      await step("calls", () => Promise.all([calls.hangupAll("user_hangup"), rtcCalls.terminateAll("shutdown")]));
      talkback.stop();
      client.stop();
      await step("cameras", () => hub.stopAll());
      await step("http", () => http?.server.close() ?? Promise.resolve());
      log.info("stopped");
    })();
    return stopping;
  };

  try {
    if (config.http.listen !== undefined) {
      const server = new HttpServer(child("http"));
      server.route("GET", "/healthz", () =>
        healthReply({
          userId: matrix.userId,
          stopping: stopping !== undefined,
          homeserverDownSince: matrix.sync.failingSince,
          calls: activeCalls(),
          cameras: hub.stats(),
        }),
      );
      server.route("GET", "/metrics", async () => ({ status: 200, contentType: metrics.contentType, body: await metrics.text() }));
      http = { server, ...(await server.listen(config.http.listen)) };
    }
    doorbell = await startDoorbell({
      config,
      log,
      client,
      botUserId: matrix.userId,
      access,
      hub,
      calls,
      rtc: { calls: rtcCalls, choices: ringChoices },
      admission,
      http: http?.server,
    });
    await client.start();
  } catch (err: unknown) {
    // Nothing half-started stays behind (a listening port, an MQTT client) to keep a broken process alive.
    log.error({ err }, "start failed; stopping what was started");
    await stop();
    throw err;
  }
  hub.startWarm();
  turn.warm();
  rtcCalls.warm();
  log.info({ cameras: hub.names() }, "matrix-camera-call is running");

  // A bot that logged in but cannot sync sees no command and no answer: the start has failed after all.
  const failed = matrix.sync.first.then(
    () => new Promise<Error>(() => undefined),
    async (err: unknown) => {
      log.fatal(
        { err, status: (err as { statusCode?: unknown } | null)?.statusCode },
        "the first sync with the homeserver failed; stopping",
      );
      await stop();
      return err instanceof Error ? err : new Error(String(err));
    },
  );

  return { config, log, matrix, ffmpeg, hub, calls, encodeFigures, turn, http, doorbell, talkback, metrics, failed, stop };
}
