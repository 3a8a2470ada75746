/**
 * The set-up every end-to-end file with the whole bot shares, from a small description: a real Synapse, GStreamer RTSP
 * cameras, the bot in-process (startApp) from a YAML config written to DIR/config.yaml and loaded as the bot loads
 * one (its debug log in DIR/bot.log), and matrix-js-sdk users — callees that answer the bot's calls, callers that
 * place calls to it, either with a direct chat with the bot and, if asked, a microphone that plays a tone.
 * One `stop()` hangs up what rang and stops everything in reverse order. startProcessRig() runs the bot as a process
 * instead (the soak), from the same description.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { stringify } from "yaml";
import { startApp, type App } from "../../src/app.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { freePort } from "../../src/dev/local-synapse.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { openPeerConnectionCount } from "../../src/rtc/wrtc.ts";
import { startBotProcess, type BotProcess } from "./bot-process.ts";
import { startCallee, type Callee, type IncomingCall } from "./callee.ts";
import { openDirectChat } from "./dm.ts";
import { startCaller, type Caller } from "./js-caller.ts";
import { startRtspCamera, type RtspCamera, type RtspCameraOptions } from "./rtsp-camera.ts";
import { startSynapse, type RegisteredUser, type StartSynapseOptions, type SynapseHandle } from "./synapse.ts";
import { toneDeviceId } from "./tone-mic.ts";
import { waitFor } from "./wait.ts";

export interface RigUser {
  /** The localpart to register. */
  name: string;
  /** "callee" answers the bot's calls (and joins rooms it is invited to), "caller" places calls to the bot, "none" is only registered. Default "callee". */
  as?: "callee" | "caller" | "none";
  /** Opens a direct chat with the bot, as Element does (default: true for a callee or caller). */
  dm?: boolean;
  /** The microphone plays this tone (Hz) while toneMic.talking (tone-mic.ts). */
  tone?: number;
  /** Relay-only ICE (matrix-js-sdk's forceTURN). */
  forceTURN?: boolean;
}

/** What the config is built from. */
export interface RigContext {
  synapse: SynapseHandle;
  bot: RegisteredUser;
  /** Registered users by localpart. */
  users: Record<string, RegisteredUser>;
  /** The RTSP cameras by the key they were given in `cameras`. */
  cameras: Record<string, RtspCamera>;
  /** The rig's temporary directory (config.yaml, bot.log, data/). */
  dir: string;
}

export interface RigOptions {
  /** Names the temporary directory (mcc-NAME-…). */
  name: string;
  /** The bot's localpart (default "camerabot"). */
  botName?: string;
  synapse?: StartSynapseOptions;
  /** GStreamer RTSP cameras to start, by a key the config refers to (ctx.cameras[key].url). */
  cameras?: Record<string, RtspCameraOptions>;
  /** Users to register, in order; a bare name is a callee with a direct chat. */
  users?: readonly (string | RigUser)[];
  /**
   * The config, over the defaults: the homeserver (token through ${BOT_TOKEN}), allowedUsers (every registered user),
   * media.idleStopMs 0, dataDir DIR/data, logLevel debug. Top-level keys given here replace the default's.
   */
  config: (ctx: RigContext) => Record<string, unknown>;
  /** More environment for ${NAME} in the config (secrets stay out of the file). */
  env?: Record<string, string>;
  /** The level of the bot's log in DIR/bot.log (default "debug"; a bot process: the config's logLevel, default the bot's). */
  logLevel?: string;
  /** How long the users' direct chats may take to be joined by the bot (default 20 s). */
  dmTimeoutMs?: number;
}

/** What both kinds of rig offer: everything but the bot itself. */
export interface RigParts extends RigContext {
  logFile: string;
  camera(key: string): RtspCamera;
  user(name: string): RegisteredUser;
  callee(name: string): Callee;
  caller(name: string): Caller;
  /** NAME's direct chat with the bot. */
  dm(name: string): string;
  /** How many lines of the bot's log have this message. */
  logCount(msg: string): number;
  /** `!call CAMERA` in NAME's direct chat; resolves with the ringing call (not answered; hung up by stop() if still live). */
  ring(name: string, camera: string, timeoutMs?: number): Promise<IncomingCall>;
  /** ring(), answer, and wait until `frames` video frames arrived. */
  ringAndAnswer(name: string, camera: string, frames?: number): Promise<IncomingCall>;
  /** Hangs up every call ring() returned that is still live. */
  hangUpRung(): void;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** The bot in-process (startApp). */
export interface Rig extends RigParts {
  app: App;
  /** Waits until the bot has no call (and, if asked, no ffmpeg and no open peer connection). */
  released(opts?: { ffmpeg?: boolean; peerConnections?: boolean; timeoutMs?: number }): Promise<void>;
  /** released() of everything: no call, no ffmpeg, no peer connection, within 10 s. */
  releasedEverything(): Promise<void>;
}

/** The bot as a process (`node src/main.ts --config DIR/config.yaml`, bot-process.ts), its /metrics on a free port. */
export interface ProcessRig extends RigParts {
  botProcess: BotProcess;
}

function pick<T>(map: Map<string, T>, name: string, what: string): T {
  const value = map.get(name);
  if (value === undefined) throw new Error(`the rig has no ${what} "${name}"`);
  return value;
}

/** Starts the bot from the config file the rig wrote; returns it and how to stop it. */
type BotStarter<B> = (run: {
  configFile: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
}) => Promise<{ bot: B; stop: () => Promise<unknown> }>;

async function startParts<B>(
  opts: RigOptions,
  defaults: Record<string, unknown>,
  startBot: BotStarter<B>,
): Promise<RigParts & { started: B }> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const rung: IncomingCall[] = [];
  const callees = new Map<string, Callee>();
  const callers = new Map<string, Caller>();
  const dms = new Map<string, string>();
  let stopped = false;
  const hangUpRung = (): void => {
    for (const call of rung) if (!call.isEnded()) call.hangup();
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    hangUpRung();
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const synapse = await startSynapse(opts.synapse);
    cleanups.push(() => synapse.stop());
    const cameras: Record<string, RtspCamera> = {};
    for (const [key, cameraOpts] of Object.entries(opts.cameras ?? {})) {
      const camera = await startRtspCamera(cameraOpts);
      cleanups.push(() => camera.stop());
      cameras[key] = camera;
    }
    const bot = await synapse.registerUser(opts.botName ?? "camerabot");
    const specs = (opts.users ?? []).map((u): RigUser => (typeof u === "string" ? { name: u } : u));
    const users: Record<string, RegisteredUser> = {};
    for (const spec of specs) users[spec.name] = await synapse.registerUser(spec.name);

    const dir = mkdtempSync(path.join(tmpdir(), `mcc-${opts.name}-`));
    const logFile = path.join(dir, "bot.log");
    writeFileSync(logFile, "");
    const ctx: RigContext = { synapse, bot, users, cameras, dir };
    const config = {
      homeserver: { url: synapse.baseUrl, accessToken: "${BOT_TOKEN}" },
      allowedUsers: Object.values(users).map((u) => u.userId),
      media: { idleStopMs: 0 },
      dataDir: path.join(dir, "data"),
      ...defaults,
      ...opts.config(ctx),
    };
    const configFile = path.join(dir, "config.yaml");
    writeFileSync(configFile, stringify(config));
    const started = await startBot({ configFile, env: { ...process.env, ...opts.env, BOT_TOKEN: bot.accessToken }, logFile });
    cleanups.push(started.stop);

    for (const spec of specs) {
      const as = spec.as ?? "callee";
      const user = users[spec.name];
      if (as === "none" || user === undefined) continue;
      const sdkOpts = { ...user, baseUrl: synapse.baseUrl, ...(spec.forceTURN === true ? { forceTURN: true } : {}) };
      let party: Callee | Caller;
      if (as === "callee") {
        const callee = await startCallee({ ...sdkOpts, autoJoin: true });
        callees.set(spec.name, callee);
        party = callee;
      } else {
        const caller = await startCaller({ ...sdkOpts, ...(spec.tone !== undefined ? { audioDeviceId: toneDeviceId(spec.tone) } : {}) });
        callers.set(spec.name, caller);
        party = caller;
      }
      cleanups.push(() => party.stop());
      if (as === "callee" && spec.tone !== undefined)
        party.client.getMediaHandler().restoreMediaSettings(toneDeviceId(spec.tone), undefined as unknown as string);
      if (spec.dm ?? true) dms.set(spec.name, await openDirectChat(party.client, bot.userId, opts.dmTimeoutMs));
    }

    const ring = async (name: string, camera: string, timeoutMs = 30_000): Promise<IncomingCall> => {
      const callee = pick(callees, name, "callee");
      const ringing = callee.nextIncomingCall(timeoutMs);
      await callee.client.sendTextMessage(pick(dms, name, "direct chat of"), `!call ${camera}`);
      const call = await ringing;
      // Only the calls still live are kept (a soak rings hundreds).
      for (let i = rung.length - 1; i >= 0; i--) if (rung[i]?.isEnded() === true) rung.splice(i, 1);
      rung.push(call);
      return call;
    };
    return {
      ...ctx,
      started: started.bot,
      logFile,
      camera: (key) => pick(new Map(Object.entries(cameras)), key, "camera"),
      user: (name) => pick(new Map(Object.entries(users)), name, "user"),
      callee: (name) => pick(callees, name, "callee"),
      caller: (name) => pick(callers, name, "caller"),
      dm: (name) => pick(dms, name, "direct chat of"),
      logCount: (msg) => readFileSync(logFile, "utf8").split(`"msg":"${msg}"`).length - 1,
      ring,
      ringAndAnswer: async (name, camera, frames = 15) => {
        const call = await ring(name, camera);
        await call.answer();
        await call.waitForFrames(frames, 20_000);
        return call;
      },
      hangUpRung,
      stop,
    };
  } catch (err: unknown) {
    await stop();
    throw err;
  }
}

/** The bot in-process: startApp from the config file, its log (at opts.logLevel, default debug) in DIR/bot.log. */
export async function startRig(opts: RigOptions): Promise<Rig> {
  const parts = await startParts(opts, { logLevel: "debug" }, async ({ configFile, env, logFile }) => {
    const app = await startApp(loadConfigFile(configFile, env), {
      log: pino({ level: opts.logLevel ?? "debug" }, pino.destination({ dest: logFile, sync: true })),
    });
    return { bot: app, stop: () => app.stop() };
  });
  const app = parts.started;
  const released: Rig["released"] = async ({ ffmpeg = false, peerConnections = false, timeoutMs = 15_000 } = {}) => {
    await waitFor(
      `the bot to release every call${ffmpeg ? ", ffmpeg" : ""}${peerConnections ? ", peer connection" : ""}`,
      () => app.calls.activeCount() === 0 && (!ffmpeg || liveFfmpegCount() === 0) && (!peerConnections || openPeerConnectionCount() === 0),
      { timeoutMs },
    );
  };
  return { ...parts, app, released, releasedEverything: () => released({ ffmpeg: true, peerConnections: true, timeoutMs: 10_000 }) };
}

/**
 * The bot as a process, as it runs in production (bot-process.ts): its /metrics (and so http.listen) on a free port of
 * 127.0.0.1, its output in DIR/bot.log; `gc` lets the test ask it for a full garbage collection (gc-on-signal.ts).
 */
export async function startProcessRig(opts: RigOptions & { gc?: boolean }): Promise<ProcessRig> {
  const port = await freePort();
  const configOf = opts.config;
  const withListener: RigOptions = {
    ...opts,
    config: (ctx) => {
      const config = configOf(ctx);
      const http = typeof config["http"] === "object" && config["http"] !== null ? config["http"] : {};
      return { ...config, http: { ...http, listen: `127.0.0.1:${port}` } };
    },
  };
  const defaults = opts.logLevel !== undefined ? { logLevel: opts.logLevel } : {};
  const parts = await startParts(withListener, defaults, async ({ configFile, env, logFile }) => {
    const gcFile = opts.gc === true ? { gcFile: path.join(path.dirname(configFile), "gc-done") } : {};
    const bot = await startBotProcess({ configFile, env, logFile, metricsUrl: `http://127.0.0.1:${port}/metrics`, ...gcFile });
    return { bot, stop: () => bot.stop() };
  });
  return { ...parts, botProcess: parts.started };
}
