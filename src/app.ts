/**
 * The composition root: builds every part from a validated config, starts them and returns
 * handles, so `main.ts` only wires process concerns and tests start the whole app in-process.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import { callFigures, describeCall } from "./call/call-figures.ts";
import { UserCallRate } from "./call/call-limits.ts";
import { CallManager } from "./call/manager.ts";
import { startDoorbell, type Doorbell } from "./doorbell/index.ts";
import { HttpServer } from "./http/server.ts";
import { Metrics } from "./metrics/metrics.ts";
import type { Config } from "./config/load.ts";
import { AccessList } from "./matrix/access.ts";
import { Bot } from "./matrix/bot.ts";
import { connectMatrix, type MatrixConnection } from "./matrix/client.ts";
import { sendRoomEvent } from "./matrix/sender.ts";
import { CameraHub } from "./media/camera-hub.ts";
import { resolveFfmpeg, type FfmpegBinary } from "./media/ffmpeg-path.ts";
import { TurnCredentials } from "./rtc/turn.ts";
import { TalkbackHub } from "./talkback/hub.ts";
import { createLogger, redactUrl, type Logger } from "./util/logger.ts";

export interface App {
  config: Config;
  log: Logger;
  matrix: MatrixConnection;
  ffmpeg: FfmpegBinary;
  hub: CameraHub;
  calls: CallManager;
  turn: TurnCredentials;
  /** The HTTP listener and its bound address, when `http.listen` is configured. */
  http: { server: HttpServer; host: string; port: number } | undefined;
  doorbell: Doorbell;
  metrics: Metrics;
  /** Hangs up every call, stops syncing and every camera pipeline. Idempotent. */
  stop(): Promise<void>;
}

export class StartupError extends Error {}

export interface StartOptions {
  log?: Logger;
}

export async function startApp(config: Config, opts: StartOptions = {}): Promise<App> {
  const log = opts.log ?? createLogger({ level: config.logLevel });

  const ffmpeg = resolveFfmpeg(config.media.ffmpegPath);
  if ("error" in ffmpeg) throw new StartupError(ffmpeg.error);
  log.info({ ffmpeg: ffmpeg.path, source: ffmpeg.source, version: ffmpeg.version }, "using ffmpeg");

  const matrix = await connectMatrix(config, log);
  const client: MatrixClient = matrix.client;
  log.info({ userId: matrix.userId, deviceId: matrix.deviceId, homeserver: redactUrl(config.homeserver.url) }, "connected to the homeserver");

  const access = new AccessList(config.allowedUsers);
  const hub = new CameraHub(config.cameras, ffmpeg.path, log, config.media.idleStopMs);
  const turn = new TurnCredentials(() => client.doRequest("GET", "/_matrix/client/v3/voip/turnServer"), log.child({ component: "turn" }));
  const calls = new CallManager(
    hub,
    turn,
    async (roomId, type, content) => {
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
  const talkback = new TalkbackHub(config.cameras, log);
  calls.on("call", (session) => {
    talkback.watch(session);
  });
  const metrics = new Metrics({ activeCalls: () => calls.activeCount(), cameras: () => hub.stats(), calls: () => callFigures(calls.sessions()) });
  calls.on("setup", (phase, seconds) => {
    metrics.setupPhase(phase, seconds);
  });
  calls.on("ended", (end) => {
    metrics.callEnded(end);
    log.info({ call: end.callId, room: end.roomId, camera: end.camera, party: end.party, reason: end.reason, connected: end.connected }, "call finished");
  });
  const statusText = async (): Promise<string> => {
    const cameras = Object.entries(hub.stats()).map(([name, s]) => `${name} ${s.state}${s.leases > 0 ? ` (${s.leases} call${s.leases === 1 ? "" : "s"})` : ""}${s.restarts > 0 ? `, ${s.restarts} reconnects` : ""}`);
    const turnServers = await turn.iceServers();
    return [
      `Calls in progress: ${calls.activeCount()}`,
      ...(await callFigures(calls.sessions())).map((f) => `  ${describeCall(f)}`),
      `Cameras: ${cameras.join("; ")}`,
      ...talkback.statusLines(calls.sessions()),
      `TURN: ${turnServers.length > 0 ? "yes" : "none (calls across NAT may fail; run doctor)"}`,
      `End-to-end encryption: ${matrix.encryption ? "yes" : "no (use an unencrypted DM)"}`,
      `ffmpeg: ${ffmpeg.version}`,
    ].join("\n");
  };
  new Bot(client, matrix.userId, access, config.cameras, calls, log, statusText, new UserCallRate(config.calls.maxPerUserPerMinute)).attach();

  let stopping: Promise<void> | undefined;
  let http: App["http"];
  if (config.http.listen !== undefined) {
    const server = new HttpServer(log.child({ component: "http" }));
    server.route("GET", "/healthz", () => ({
      status: stopping ? 503 : 200,
      contentType: "application/json",
      body: JSON.stringify({ status: stopping ? "stopping" : "ok", calls: calls.activeCount(), cameras: Object.fromEntries(Object.entries(hub.stats()).map(([n, s]) => [n, s.state])) }),
    }));
    server.route("GET", "/metrics", async () => ({ status: 200, contentType: metrics.contentType, body: await metrics.text() }));
    http = { server, ...(await server.listen(config.http.listen)) };
  }
  const doorbell = await startDoorbell({ config, log, client, botUserId: matrix.userId, access, hub, calls, http: http?.server });

  await client.start();
  hub.startWarm();
  log.info({ cameras: hub.names() }, "matrix-camera-call is running");

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      log.info("stopping");
      await doorbell.stop();
      await calls.hangupAll("user_hangup");
      talkback.stop();
      client.stop();
      await hub.stopAll();
      await http?.server.close();
      log.info("stopped");
    })();
    return stopping;
  };

  return { config, log, matrix, ffmpeg, hub, calls, turn, http, doorbell, metrics, stop };
}
