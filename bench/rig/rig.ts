/**
 * The one owner of everything a bench run starts: Synapse, the bot (in-process), the receiver (a separate process),
 * the cameras and keepers, and whatever a phase adds (reference calls, plain links, the ONVIF camera) through `own()`.
 * `stop()` stops all of it in reverse order, once, whatever failed; exit hooks kill any ffmpeg child left behind.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { startApp, type App } from "../../src/app.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { freePort } from "../../src/dev/local-synapse.ts";
import { childrenNamed, FRONT_ENDS, type ProcGroup } from "../../test/harness/proc-stats.ts";
import { startMosquitto, type Mosquitto } from "../../test/harness/mosquitto.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../../test/harness/synapse.ts";
import { SourceTaps } from "../measure/source-tap.ts";
import type { MeasureDeps } from "../measure/window.ts";
import { Viewer } from "../matrix.ts";
import { camerasPerResolution, roomsNeeded, type Plan, type Resolution } from "../plan.ts";
import { ReceiverClient } from "../receiver-client.ts";
import { CallDriver } from "./calls.ts";
import { CameraSet, cameraName } from "./cameras.ts";
import { botConfigYaml } from "./config.ts";

export const PYTHON = process.env["GST_PYTHON"] ?? "/usr/bin/python3";

export type Say = (text: string) => void;

process.on("exit", () => {
  // Last resort: no camera front end (ffmpeg, gst-launch-1.0) outlives the benchmark (cameras and the receiver have their own exit hooks).
  for (const pid of childrenNamed(process.pid, FRONT_ENDS)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

export class Rig implements MeasureDeps {
  private readonly owned: { what: string; stop: () => Promise<void> | void }[] = [];
  private stopping: Promise<string[]> | undefined;
  /** Extra process groups a phase adds for as long as it runs (e.g. the talkback command). */
  readonly extraGroups = new Set<ProcGroup>();

  private constructor(
    readonly runDir: string,
    readonly synapse: SynapseHandle,
    readonly botUser: RegisteredUser,
    readonly app: App,
    readonly receiver: ReceiverClient,
    readonly viewer: Viewer,
    readonly rooms: readonly string[],
    readonly cameras: CameraSet,
    readonly calls: CallDriver,
    readonly taps: SourceTaps,
    readonly onvifPort: number,
    readonly talkbackFile: string,
    /** Where the bot's config puts its MatrixRTC focus; the matrixrtc phase starts the token service on it. */
    readonly focusPort: number,
    /** The doorbell phase's triggers: the bot's webhook and the MQTT broker it listens to (absent without the phase). */
    readonly doorbell: { webhookUrl: string; broker: Mosquitto } | undefined,
  ) {}

  /** Starts Synapse, the bot and the receiver, and opens the direct chats; on failure stops what it started. */
  static async start(plan: Plan, runDir: string, say: Say): Promise<Rig> {
    const early: (() => Promise<void>)[] = [];
    try {
      say("starting Synapse");
      const synapse = await startSynapse();
      early.push(() => synapse.stop());
      const botUser = await synapse.registerUser("camerabot");
      const viewerUser = await synapse.registerUser("viewer");
      const ports = new Map<string, { port: number; res: Resolution }>();
      for (const { res, count } of camerasPerResolution(plan)) {
        // One rig server for the cameras of a size: the bot opens each on its own, the rig encodes once (cameras.ts).
        const port = await freePort();
        for (let i = 0; i < count; i++) ports.set(cameraName(res, i), { port, res });
      }
      const onvifPort = await freePort();
      const focusPort = await freePort();
      const talkbackFile = path.join(runDir, "talkback-exec.raw");
      const configFile = path.join(runDir, "config.yaml");
      let doorbell: { webhookUrl: string; broker: Mosquitto; httpPort: number } | undefined;
      if (plan.phases.includes("doorbell")) {
        const broker = await startMosquitto();
        early.push(() => broker.stop());
        const httpPort = await freePort();
        doorbell = { webhookUrl: `http://127.0.0.1:${httpPort}`, broker, httpPort };
      }
      const first = [...ports.keys()][0] ?? "";
      writeFileSync(
        configFile,
        botConfigYaml({
          baseUrl: synapse.baseUrl,
          viewer: viewerUser.userId,
          cameras: ports,
          firstCamera: first,
          onvifPort,
          talkbackFile,
          python: PYTHON,
          maxCalls: roomsNeeded(plan),
          dataDir: path.join(runDir, "data"),
          focusUrl: `http://127.0.0.1:${focusPort}`,
          doorbell: doorbell && { httpPort: doorbell.httpPort, mqtt: doorbell.broker },
        }),
      );
      const config = loadConfigFile(configFile, { ...process.env, BOT_TOKEN: botUser.accessToken });
      say("starting the bot (in-process) and the receiver (separate process)");
      const app = await startApp(config, {
        log: pino({ level: "info" }, pino.destination({ dest: path.join(runDir, "bot.log"), sync: false })),
      });
      early.push(() => app.stop());
      const taps = new SourceTaps(app);
      const receiver = await ReceiverClient.start(path.join(runDir, "receiver.log"));
      early.push(() => receiver.stop());
      await receiver.login({
        baseUrl: synapse.baseUrl,
        userId: viewerUser.userId,
        accessToken: viewerUser.accessToken,
        deviceId: viewerUser.deviceId,
      });
      const viewer = new Viewer(synapse.baseUrl, viewerUser.accessToken);
      const n = roomsNeeded(plan);
      say(`creating ${n} direct chats with the bot`);
      // The receiver needs no wait for them: a call's events reach it with the room in its next sync.
      const rooms: string[] = [];
      for (let i = 0; i < n; i++) rooms.push(await viewer.directChatWith(botUser.userId));
      const cameras = new CameraSet(() => app.ffmpeg.path, ports);
      const calls = new CallDriver(app, receiver, viewer);
      const triggers = doorbell && { webhookUrl: doorbell.webhookUrl, broker: doorbell.broker };
      return new Rig(
        runDir,
        synapse,
        botUser,
        app,
        receiver,
        viewer,
        rooms,
        cameras,
        calls,
        taps,
        onvifPort,
        talkbackFile,
        focusPort,
        triggers,
      );
    } catch (err: unknown) {
      for (const stop of early.reverse()) await stop().catch(() => undefined);
      throw err;
    }
  }

  /** Something a phase started, stopped with the rig (or earlier by the returned function, which then forgets it). */
  own(what: string, stop: () => Promise<void> | void): () => Promise<void> {
    const entry = { what, stop };
    this.owned.push(entry);
    return async () => {
      const i = this.owned.indexOf(entry);
      if (i < 0) return;
      this.owned.splice(i, 1);
      await stop();
    };
  }

  /** Runs `fn` with the bot's encode budget off (every call at its camera's full size), then the configured one again. */
  async withoutEncodeBudget<T>(fn: () => Promise<T>): Promise<T> {
    const budget = this.app.config.media.encodeMegapixelsPerCore;
    this.app.hub.setEncodeBudget(0);
    try {
      return await fn();
    } finally {
      this.app.hub.setEncodeBudget(budget);
    }
  }

  /** Calls hung up, phase resources stopped, every camera but `keep` stopped: the state each phase starts from. */
  async reset(keep: readonly string[]): Promise<void> {
    await this.calls.hangupAll();
    for (const entry of this.owned.splice(0).reverse()) await entry.stop();
    await this.cameras.stopAll(keep);
  }

  groups(): ProcGroup[] {
    const botFrontEnd = (): number[] => childrenNamed(process.pid, FRONT_ENDS).filter((p) => !this.cameras.isKeeper(p));
    // The bot's MatrixRTC calls run rtc-node in its LiveKit process (src/matrixrtc/livekit-process.ts): part of the bot.
    const botLiveKit = (): number[] => childrenNamed(process.pid, "mcc-livekit");
    return [
      { name: "bot", pids: () => [process.pid, ...botFrontEnd(), ...botLiveKit()] },
      { name: "botLiveKit", pids: botLiveKit },
      { name: "botFrontEnd", pids: botFrontEnd },
      { name: "receiver", pids: () => [this.receiver.pid] },
      { name: "cameras", pids: () => this.cameras.pids() },
      ...this.extraGroups,
    ];
  }

  /** Stops everything; resolves with what went wrong while stopping. Idempotent. */
  stop(): Promise<string[]> {
    this.stopping ??= (async () => {
      const errors: string[] = [];
      const step = async (what: string, fn: () => unknown): Promise<void> => {
        try {
          await fn();
        } catch (err: unknown) {
          errors.push(`stopping ${what}: ${errorText(err)}`);
        }
      };
      for (const entry of this.owned.splice(0).reverse()) await step(entry.what, entry.stop);
      await step("receiver", () => this.receiver.stop());
      await step("bot", () => this.app.stop());
      for (const name of this.cameras.names()) await step(`camera ${name}`, () => this.cameras.stop(name));
      if (this.doorbell) await step("mqtt broker", () => this.doorbell?.broker.stop());
      await step("synapse", () => this.synapse.stop());
      return errors;
    })();
    return this.stopping;
  }
}
