/**
 * A real MQTT broker for end-to-end tests: Debian's mosquitto on 127.0.0.1, a free port, a temporary
 * configuration with one user and password (never the system service), no persistence.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../src/dev/ports.ts";
import { harnessLog } from "./log.ts";
import { acceptsTcp } from "./tcp-probe.ts";
import { waitFor } from "./wait.ts";

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
  let broker: Broker | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    broker = await spawnBroker(configFile, port);
  } catch (err: unknown) {
    await stop();
    throw err;
  }
  const restart = async (): Promise<void> => {
    await broker?.stop();
    broker = await spawnBroker(configFile, port);
  };
  harnessLog.debug({ port }, "mosquitto started");
  return { url: `mqtt://127.0.0.1:${port}`, port, username, password, restart, stop };
}

interface Broker {
  stop(): Promise<void>;
}

async function spawnBroker(configFile: string, port: number): Promise<Broker> {
  const child: ChildProcess = spawn(MOSQUITTO, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (data: string) => {
    stderr = (stderr + data).slice(-4000);
  });
  const exited = new Promise<void>((resolve) =>
    child.once("exit", () => {
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 3_000);
    await exited;
    clearTimeout(kill);
  };
  try {
    await waitFor(
      "mosquitto to accept connections",
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
        return acceptsTcp(port);
      },
      { timeoutMs: 10_000 },
    );
  } catch (err: unknown) {
    await stop();
    throw err;
  }
  return { stop };
}
