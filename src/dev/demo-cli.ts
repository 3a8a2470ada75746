/**
 * The demo's command line (`npm run demo`, and `npm start` without a configuration): runs src/dev/demo.ts, prints how
 * to log in and call the camera (plain text on stdout: the person reads it), and handles Ctrl-C and SIGTERM.
 */
import path from "node:path";
import { StartupError } from "../app.ts";
import { ConfigError } from "../config/load.ts";
import { createLogger } from "../util/logger.ts";
import { DEMO_PORT, DemoError, runDemo, type Demo } from "./demo.ts";
import { LocalSynapseError } from "./local-synapse.ts";

/** The person reads these lines: they go to stdout as plain text, not through the logger. */
function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** What the person reads once the demo runs: where to log in, with what, and what to type. */
export function demoInstructions(demo: Demo): string {
  const url = demo.homeserverUrl;
  const localpart = /^@([^:]+):/.exec(demo.user.userId)?.[1] ?? demo.user.userId;
  const where = path.relative(process.cwd(), demo.dataDir) || demo.dataDir;
  const rule = "─".repeat(78);
  const lines = [
    "",
    rule,
    "  matrix-camera-call demo is running",
    rule,
    `  Homeserver   ${url}${demo.synapse.port !== DEMO_PORT ? `   (port ${DEMO_PORT} was taken)` : ""}`,
    `  User         ${demo.user.userId}`,
    `  Password     ${demo.user.password}`,
    "",
    "  Log in with any Matrix client, e.g. Element Desktop or Element Web (https://app.element.io):",
    `    "Sign in" → "Edit" (next to the homeserver) → ${url} → Continue,`,
    `    then username ${localpart} and the password above.`,
    `  Open the direct chat with Camera bot (${demo.botUserId}) and type:`,
    "",
    `      !call ${demo.cameraName}`,
    "",
    "  The bot rings you: answer to see a test picture with the local time and hear a beep.",
    "  !help lists the commands, !hangup ends the call.",
    "",
    `  ${demo.firstRun ? "Created" : "Reused"} the homeserver and the accounts in ${where} (kept between runs;`,
    `  delete it to start over). Synapse's log: ${path.relative(process.cwd(), demo.synapse.logPath) || demo.synapse.logPath}`,
    "  Ctrl-C stops the bot and the homeserver.",
    rule,
    "",
  ];
  return lines.join("\n");
}

/**
 * The whole command line: starts the demo, prints the instructions, stops on SIGINT/SIGTERM (exit 0). On a start-up
 * failure it prints why and what to do instead, and sets process.exitCode = 1.
 */
export async function runDemoCli(): Promise<void> {
  const log = createLogger();
  let demo: Demo | undefined;
  const pending = { stop: false };
  let exiting = false;

  const shutdown = (signal: string): void => {
    if (demo === undefined) {
      // Still starting: stop as soon as it is up (or has failed); a second signal gives up at once.
      if (pending.stop) process.exit(130);
      pending.stop = true;
      print(`${signal}: stopping as soon as the start-up step under way is done (again to quit at once)`);
      return;
    }
    if (exiting) return;
    exiting = true;
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      log.error("the demo did not stop within 20 s; exiting");
      process.exit(1);
    }, 20_000);
    force.unref();
    demo.stop().then(
      () => {
        print("Stopped.");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => {
    shutdown("SIGTERM");
  });
  process.on("SIGINT", () => {
    shutdown("SIGINT");
  });

  print("Starting the matrix-camera-call demo: a local Matrix homeserver, two accounts and the bot with a demo camera…");
  try {
    demo = await runDemo({ log, say: print });
  } catch (err: unknown) {
    if (err instanceof DemoError || err instanceof LocalSynapseError || err instanceof StartupError || err instanceof ConfigError) {
      print(`\nThe demo cannot start: ${err.message}`);
    } else {
      log.fatal({ err: err instanceof Error ? err.message : String(err) }, "the demo failed to start");
    }
    process.exitCode = 1;
    return;
  }
  if (pending.stop) {
    shutdown("stop");
    return;
  }
  // The log lines written so far come first, so that the instructions are the last thing on the screen.
  await Promise.race([
    new Promise<void>((resolve) => {
      log.flush(() => {
        resolve();
      });
    }),
    new Promise<void>((resolve) => setTimeout(resolve, 500)),
  ]);
  print(demoInstructions(demo));
}
