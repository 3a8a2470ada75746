/**
 * A real TURN server for end-to-end tests: Debian's coturn (`/usr/bin/turnserver`) on 127.0.0.1, a free port,
 * the TURN REST API's shared secret (what Synapse's `turn_shared_secret` signs its credentials with), no TLS, no CLI,
 * and loopback peers allowed (both ends of the tests' calls are on 127.0.0.1). Never the system service: no
 * configuration file is read (`-n`) and every file it writes is in a temporary directory.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../src/dev/local-synapse.ts";
import { harnessLog } from "./log.ts";
import { startServerChild, type ServerChild } from "./server-child.ts";

const TURNSERVER = process.env["TURNSERVER"] ?? "/usr/bin/turnserver";

export interface Coturn {
  port: number;
  /** turn:127.0.0.1:PORT?transport=udp, for Synapse's turn_uris. */
  uri: string;
  sharedSecret: string;
  /** Its log so far (verbose: one "session ... new" line and one allocation line per relay allocation). */
  log(): string;
  /** Usernames that were given a relay allocation (TURN REST usernames: "<expiry>:<user id>"). */
  allocatedUsernames(): string[];
  /** SIGSTOP / SIGCONT: the relay goes silent without closing anything (a network that vanishes). */
  freeze(): void;
  thaw(): void;
  /** SIGTERM, then SIGKILL after 3 s; removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startCoturn(): Promise<Coturn> {
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-coturn-"));
  const logFile = path.join(dir, "turn.log");
  const port = await freePort();
  const sharedSecret = randomBytes(16).toString("hex");
  // Relay ports from a window of 400 above the listening port's neighbourhood, so parallel runs rarely collide.
  const minPort = 20_000 + Math.floor(Math.random() * 40) * 1000;
  const args = [
    "-n",
    "--listening-ip=127.0.0.1",
    "--relay-ip=127.0.0.1",
    `--listening-port=${port}`,
    `--min-port=${minPort}`,
    `--max-port=${minPort + 399}`,
    "--use-auth-secret",
    `--static-auth-secret=${sharedSecret}`,
    "--realm=localhost",
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--no-tcp-relay",
    // Both ends of the tests' calls are on 127.0.0.1: coturn refuses loopback peers unless told otherwise.
    "--allow-loopback-peers",
    "--fingerprint",
    "--verbose",
    `--log-file=${logFile}`,
    "--simple-log",
    "--no-stdout-log",
    `--pidfile=${path.join(dir, "turnserver.pid")}`,
    `--userdb=${path.join(dir, "turndb")}`,
  ];
  const log = (): string => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  let server: ServerChild;
  try {
    server = await startServerChild("turnserver", TURNSERVER, args, port, () => `\n${log().slice(-2000)}`);
  } catch (err: unknown) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.terminate();
    rmSync(dir, { recursive: true, force: true });
  };
  harnessLog.debug({ port }, "coturn started");
  return {
    port,
    uri: `turn:127.0.0.1:${port}?transport=udp`,
    sharedSecret,
    log,
    allocatedUsernames() {
      // coturn logs "session <id>: realm <localhost> user <NAME>: incoming packet ALLOCATE processed, success".
      const names = new Set<string>();
      for (const m of log().matchAll(/user <([^>]+)>: incoming packet ALLOCATE processed, success/g))
        if (m[1] !== undefined) names.add(m[1]);
      return [...names];
    },
    freeze() {
      server.child.kill("SIGSTOP");
    },
    thaw() {
      server.child.kill("SIGCONT");
    },
    stop,
  };
}
