/**
 * Doorbell: presses arriving by webhook or MQTT ring the configured people (see ring-policy.ts).
 * Started by app.ts after the bot is attached; returns a handle that stops everything it started.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallAdmission } from "../admission/admission.ts";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config/load.ts";
import type { HttpServer } from "../http/server.ts";
import type { AccessList } from "../admission/access.ts";
import type { CameraHub } from "../media/camera-hub.ts";
import { resolveFfmpeg } from "../media/ffmpeg-path.ts";
import type { Logger } from "../util/logger.ts";
import { DmRooms } from "./dm-rooms.ts";
import { MqttTrigger } from "./mqtt.ts";
import { compileRules } from "./mqtt-rules.ts";
import { RingPolicy, type PressResult } from "./ring-policy.ts";
import type { DoorbellRtc } from "./ring-ways.ts";
import { Snapshotter } from "./snapshot.ts";
import { WebhookTrigger } from "./webhook.ts";

export interface DoorbellContext {
  config: Config;
  log: Logger;
  client: MatrixClient;
  botUserId: string;
  access: AccessList;
  hub: CameraHub;
  calls: CallManager;
  /** MatrixRTC calls and each user's ring choice: a press rings each user the way they chose. */
  rtc?: DoorbellRtc | undefined;
  /** Whether a call may start: each ring asks it, as `!call` and calls placed to the bot do. */
  admission: CallAdmission;
  /** The HTTP listener when `http.listen` is configured. */
  http: HttpServer | undefined;
}

export interface Doorbell {
  /** A press of a camera's doorbell, as the triggers make them. */
  press(camera: string, source: string): PressResult;
  stop(): Promise<void>;
}

export type { PressResult } from "./ring-policy.ts";

/** The longest a rung call's snapshot waits for the camera's picture in the bot (a camera that sends none). */
const PICTURE_WAIT_MS = 3_000;

/** Resolves once `camera`'s pipeline is running or has its first frame, or after PICTURE_WAIT_MS. */
function pictureFlowing(hub: CameraHub, camera: string): Promise<void> {
  const pipeline = hub.pipeline(camera);
  if (pipeline === undefined || pipeline.getState() === "running") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pipeline.off("firstFrame", done);
      resolve();
    };
    const timer = setTimeout(done, PICTURE_WAIT_MS);
    pipeline.once("firstFrame", done);
  });
}

export function startDoorbell(ctx: DoorbellContext): Promise<Doorbell> {
  const { config } = ctx;
  const log = ctx.log.child({ component: "doorbell" });
  const doorbells = config.cameras.filter((c) => c.ring !== undefined);
  const { webhook, mqtt } = config.triggers;
  if (doorbells.length === 0) {
    if (webhook !== undefined || mqtt !== undefined) log.warn("triggers are configured but no camera has ring: presses ring nobody");
    return Promise.resolve({ press: () => "not_a_doorbell", stop: () => Promise.resolve() });
  }

  // The same ffmpeg as the camera pipelines (app.ts resolved it already, so this finds it).
  const ffmpeg = resolveFfmpeg(config.media.ffmpegPath);
  if ("error" in ffmpeg) return Promise.reject(new Error(ffmpeg.error));

  const dms = new DmRooms(ctx.client, ctx.botUserId, ctx.access, log.child({ component: "dm-rooms" }));
  dms.attach();
  const snapshots = new Snapshotter(ffmpeg.path, log.child({ component: "snapshot" }));
  const policy = new RingPolicy({
    client: ctx.client,
    calls: ctx.calls,
    rtc: ctx.rtc,
    admission: ctx.admission,
    dms,
    snapshots,
    cameras: config.cameras,
    inviteLifetimeMs: config.calls.inviteLifetimeMs,
    pictureFlowing: (camera) => pictureFlowing(ctx.hub, camera),
    pressLimit: config.triggers.pressLimit,
    log,
  });
  const press = (camera: string, source: string): PressResult => policy.press(camera, source);

  let hook: WebhookTrigger | undefined;
  if (webhook !== undefined) {
    // The config loader resolved tokenFile and checked http.listen; this guards code that builds a Config itself.
    if (webhook.token === undefined || ctx.http === undefined) {
      dms.stop();
      return Promise.reject(new Error("triggers.webhook needs a token and http.listen"));
    }
    hook = new WebhookTrigger({ token: webhook.token, rateLimit: webhook.rateLimit }, press, log.child({ component: "webhook" }));
    hook.attach(ctx.http);
    log.info({ path: "/ring/<camera>", doorbells: doorbells.map((c) => c.name) }, "doorbell webhook ready");
  }

  let broker: MqttTrigger | undefined;
  if (mqtt !== undefined) {
    const rules = compileRules(mqtt, policy.doorbells());
    broker = new MqttTrigger(mqtt, rules, press, log.child({ component: "mqtt" }));
    broker.start();
  }

  let stopping: Promise<void> | undefined;
  return Promise.resolve({
    press,
    stop: () => {
      stopping ??= (async () => {
        hook?.stop();
        await broker?.stop();
        dms.stop();
        await Promise.all([policy.stop(), snapshots.stop()]);
      })();
      return stopping;
    },
  });
}
