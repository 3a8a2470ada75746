/**
 * A real LiveKit SFU for the MatrixRTC tests: livekit-server v1.13.5 (built once by scripts/livekit.sh, cached in
 * /var/cache/matrix-camera-call/livekit-1.13.5) in `--dev` mode, on loopback only, with free ports, generated keys
 * and a generated config file in a temporary directory.
 *
 * Loopback only: signalling binds 127.0.0.1; the ICE UDP port is one port on the `lo` interface (rtc.interfaces,
 * rtc.ips, enable_loopback_candidate); ICE over TCP is off (tcp_port 0) because livekit-server binds its ICE/TCP
 * port on every interface, not only the loopback one; no external IP lookup (use_external_ip false, node_ip
 * 127.0.0.1; the lookup would ask a STUN server on the internet).
 *
 * kill() and restart() are the fault tests' SFU restart: the process killed as a crash would (SIGKILL: no leave sent
 * to anyone), then started again on the same ports with the same keys, so tokens minted before still connect.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { freePort } from "../../src/dev/ports.ts";
import { harnessLog } from "./log.ts";
import { withoutLauncherEnv } from "./rig-env.ts";
import { waitFor } from "./wait.ts";

const SCRIPT = fileURLToPath(new URL("../../scripts/livekit.sh", import.meta.url));
const KILL_GRACE_MS = 3_000;

export interface LiveKit {
  /** ws://127.0.0.1:PORT, what clients connect to. */
  wsUrl: string;
  /** http://127.0.0.1:PORT, for the server API (livekit-server-sdk's RoomServiceClient). */
  httpUrl: string;
  /** The server's process id (a new one after restart()). */
  readonly pid: number;
  apiKey: string;
  apiSecret: string;
  /** The server's output so far (the last 20 kB). */
  log(): string;
  /** SIGKILL (a crash: clients get no leave), keeping the ports, keys and config for restart(). */
  kill(): Promise<void>;
  /** After kill(): the server again on the same ports with the same keys; resolves once it answers. */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after 3 s; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

interface ServerProcess {
  child: ChildProcess;
  exited: Promise<void>;
}

export type LiveKitBinary = { path: string } | { skip: string };

let binary: LiveKitBinary | undefined;

/**
 * The livekit-server binary (LIVEKIT_SERVER, or scripts/livekit.sh, which builds it once when Go is there), or why
 * the LiveKit tests skip. The script answers at once when the binary is cached.
 */
export function liveKitBinary(): LiveKitBinary {
  if (binary !== undefined) return binary;
  const fromEnv = process.env["LIVEKIT_SERVER"];
  if (fromEnv !== undefined && fromEnv !== "") return (binary = { path: fromEnv });
  const run = spawnSync("bash", [SCRIPT], { encoding: "utf8", timeout: 600_000 });
  if (run.status === 0) return (binary = { path: run.stdout.trim() });
  const reason = run.stderr.trim().split("\n").at(-1) ?? `exit ${String(run.status)}`;
  // Exit 3: no Go on this machine. Anything else is a broken build, which must fail, not skip.
  if (run.status === 3) return (binary = { skip: `LiveKit tests skipped: ${reason}` });
  throw new Error(`scripts/livekit.sh failed (${String(run.status)}): ${run.stderr.slice(-2000)}`);
}

/** A UDP port that was free on 127.0.0.1 a moment ago (freePort() probes TCP only). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => {
        resolve(port);
      });
    });
  });
}

export async function startLiveKit(): Promise<LiveKit> {
  const found = liveKitBinary();
  if ("skip" in found) throw new Error(found.skip);
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-livekit-"));
  const port = await freePort();
  const udpPort = await freeUdpPort();
  // Without STUN servers of its own, livekit-server hands every client Google's (stun.l.google.com, stun1...), and
  // each call's rtc-node resolved them: offline, every lookup held a socket and a thread until DNS gave up (the
  // MatrixRTC soak saw the bot's descriptors climb 54 → 131 over 20 calls). A loopback port nobody serves needs no DNS.
  const stunPort = await freeUdpPort();
  // livekit-server wants secrets of at least 32 characters; a fresh pair per server, never the well-known devkey.
  const apiKey = `test${randomBytes(6).toString("hex")}`;
  const apiSecret = randomBytes(24).toString("base64url");
  const config = {
    port,
    bind_addresses: ["127.0.0.1"],
    keys: { [apiKey]: apiSecret },
    log_level: "info",
    rtc: {
      udp_port: udpPort,
      tcp_port: 0,
      use_external_ip: false,
      node_ip: "127.0.0.1",
      enable_loopback_candidate: true,
      stun_servers: [`127.0.0.1:${String(stunPort)}`],
      interfaces: { includes: ["lo"] },
      ips: { includes: ["127.0.0.1/32"] },
    },
  };
  const configPath = path.join(dir, "livekit.yaml");
  writeFileSync(configPath, stringify(config), { mode: 0o600 });
  let output = "";
  const append = (data: string): void => {
    output = (output + data).slice(-20_000);
  };
  const spawnServer = (): ServerProcess => {
    const child: ChildProcess = spawn(found.path, ["--dev", "--config", configPath], {
      stdio: ["ignore", "pipe", "pipe"],
      env: withoutLauncherEnv(),
    });
    child.stdout?.setEncoding("utf8").on("data", append);
    child.stderr?.setEncoding("utf8").on("data", append);
    const exited = new Promise<void>((resolve) =>
      child.once("exit", () => {
        resolve();
      }),
    );
    return { child, exited };
  };
  const running = (p: ServerProcess): boolean => p.child.exitCode === null && p.child.signalCode === null;
  const httpUrl = `http://127.0.0.1:${port}`;
  const answering = async (p: ServerProcess): Promise<void> => {
    await waitFor(
      "livekit-server to answer",
      async () => {
        if (!running(p)) throw new Error(`livekit-server exited (${String(p.child.exitCode)}): ${output.slice(-3000)}`);
        const res = await fetch(`${httpUrl}/`, { signal: AbortSignal.timeout(1_000) });
        return res.ok;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  };
  let server = spawnServer();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (running(server)) {
      server.child.kill("SIGTERM");
      const kill = setTimeout(() => server.child.kill("SIGKILL"), KILL_GRACE_MS);
      await server.exited;
      clearTimeout(kill);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const kill = async (): Promise<void> => {
    if (!running(server)) return;
    server.child.kill("SIGKILL");
    await server.exited;
  };
  const restart = async (): Promise<void> => {
    if (stopped) throw new Error("livekit-server was stopped");
    if (running(server)) throw new Error("livekit-server is still running: kill() it first");
    server = spawnServer();
    await answering(server);
    harnessLog.debug({ port, udpPort }, "livekit-server restarted");
  };
  try {
    await answering(server);
  } catch (err: unknown) {
    await stop();
    throw err;
  }
  harnessLog.debug({ port, udpPort }, "livekit-server started");
  return {
    wsUrl: `ws://127.0.0.1:${port}`,
    httpUrl,
    get pid() {
      return server.child.pid ?? -1;
    },
    apiKey,
    apiSecret,
    log: () => output,
    kill,
    restart,
    stop,
  };
}
