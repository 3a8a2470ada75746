/**
 * Doorbell: presses arriving by webhook or MQTT ring the configured people. (Being built: issue 4.)
 * Started by app.ts after the bot is attached; returns a handle that stops everything it started.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallManager } from "../call/manager.ts";
import type { Config } from "../config/load.ts";
import type { HttpServer } from "../http/server.ts";
import type { AccessList } from "../matrix/access.ts";
import type { CameraHub } from "../media/camera-hub.ts";
import type { Logger } from "../util/logger.ts";

export interface DoorbellContext {
  config: Config;
  log: Logger;
  client: MatrixClient;
  botUserId: string;
  access: AccessList;
  hub: CameraHub;
  calls: CallManager;
  /** The HTTP listener when `http.listen` is configured. */
  http: HttpServer | undefined;
}

export interface Doorbell {
  stop(): Promise<void>;
}

export function startDoorbell(_ctx: DoorbellContext): Promise<Doorbell> {
  return Promise.resolve({ stop: () => Promise.resolve() });
}
