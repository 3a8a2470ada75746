/**
 * A server the harness runs as a child process (coturn, mosquitto): spawned with the tail of its stderr kept, up once
 * it accepts a TCP connection on its port, and stopped with SIGTERM, then SIGKILL after 3 s.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createConnection } from "node:net";
import { withoutLauncherEnv } from "./rig-env.ts";
import { waitFor } from "./wait.ts";

const KILL_AFTER_MS = 3_000;
const START_TIMEOUT_MS = 10_000;

export interface ServerChild {
  readonly child: ChildProcess;
  /** SIGCONT (it may be frozen), SIGTERM, then SIGKILL after 3 s; resolves once it has exited. Nothing once it has. */
  terminate(): Promise<void>;
}

/**
 * Spawns `command` and waits until it accepts connections on 127.0.0.1:port. When it exits first or is not up in
 * 10 s, it is terminated and this throws, with its stderr and `detail()` (its log file, say).
 */
export async function startServerChild(
  name: string,
  command: string,
  args: readonly string[],
  port: number,
  detail: () => string = () => "",
): Promise<ServerChild> {
  const child: ChildProcess = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"], env: withoutLauncherEnv() });
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
  const terminate = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGCONT");
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
    await exited;
    clearTimeout(kill);
  };
  try {
    await waitFor(
      `${name} to accept connections`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited (${String(child.exitCode)}): ${stderr}${detail()}`);
        return acceptsTcp(port);
      },
      { timeoutMs: START_TIMEOUT_MS },
    );
  } catch (err: unknown) {
    await terminate();
    throw err;
  }
  return { child, terminate };
}

/** Resolves true once a connection to 127.0.0.1:port is accepted (then closed), false when it is refused. */
function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}
