/**
 * A real MQTT broker for end-to-end tests: Debian's mosquitto on 127.0.0.1, a free port, a temporary
 * configuration with one user and password (never the system service), no persistence.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../src/dev/ports.ts";
import { harnessLog } from "./log.ts";
import { startServerChild, type ServerChild } from "./server-child.ts";

const MOSQUITTO = process.env["MOSQUITTO"] ?? "/usr/sbin/mosquitto";
const MOSQUITTO_PASSWD = process.env["MOSQUITTO_PASSWD"] ?? "/usr/bin/mosquitto_passwd";

export interface Mosquitto {
  /** mqtt://127.0.0.1:PORT (no credentials). */
  url: string;
  port: number;
  username: string;
  password: string;
  /** Stops the broker and starts it again on the same port (clients see their connection drop). */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after 3 s; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startMosquitto(opts: { username?: string; password?: string } = {}): Promise<Mosquitto> {
  const username = opts.username ?? "doorbell";
  const password = opts.password ?? "mqtt-Pa55-w0rd";
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-mosquitto-"));
  const passwordFile = path.join(dir, "passwords");
  const made = spawnSync(MOSQUITTO_PASSWD, ["-c", "-b", passwordFile, username, password], { encoding: "utf8", timeout: 10_000 });
  if (made.status !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr}`);
  const port = await freePort();
  const configFile = path.join(dir, "mosquitto.conf");
  writeFileSync(
    configFile,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${passwordFile}`,
      "persistence false",
      "log_dest stderr",
      "log_type error",
      "log_type warning",
      // Started as root (CI), it would switch to the mosquitto user, who cannot read this private directory.
      "user root",
      "",
    ].join("\n"),
  );
  let broker: ServerChild | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await broker?.terminate();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    broker = await spawnBroker(configFile, port);
  } catch (err: unknown) {
    await stop();
    throw err;
  }
  const restart = async (): Promise<void> => {
    await broker?.terminate();
    broker = await spawnBroker(configFile, port);
  };
  harnessLog.debug({ port }, "mosquitto started");
  return { url: `mqtt://127.0.0.1:${port}`, port, username, password, restart, stop };
}

/** The broker's process, started on `port` with `configFile`. */
function spawnBroker(configFile: string, port: number): Promise<ServerChild> {
  return startServerChild("mosquitto", MOSQUITTO, ["-c", configFile], port);
}
