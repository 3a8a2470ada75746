/** Entry point: reads the config, starts the app, handles signals. Everything else is in app.ts. */
import { existsSync } from "node:fs";
import { startApp, StartupError } from "./app.ts";
import { ConfigError, loadConfigFile } from "./config/load.ts";
import { createLogger, errorMessage, type Logger } from "./util/logger.ts";
import { noteUnhandledRejection } from "./util/rejections.ts";

const DEFAULT_CONFIG = "config/config.yaml";
/** The process exits by this time after a signal, cleanly or not (app.stop's steps share STOP_BUDGET_MS of it). */
const SHUTDOWN_MS = 5000;

/** One logger for process-level events; the configured one replaces the boot logger once the config is read. */
let processLog: Logger | undefined;

/** The config file asked for (--config FILE, else MCC_CONFIG), or undefined for the default. */
function configPath(argv: readonly string[]): string | undefined {
  const i = argv.indexOf("--config");
  if (i >= 0) return argv[i + 1] ?? "";
  return process.env["MCC_CONFIG"];
}

async function main(): Promise<void> {
  const bootLog = createLogger();
  processLog = bootLog;
  const asked = configPath(process.argv.slice(2));
  if (asked === undefined && !existsSync(DEFAULT_CONFIG)) {
    // The embedded default: no configuration at all gives a local homeserver and a demo camera.
    bootLog.info(
      `no ${DEFAULT_CONFIG}: starting the demo (local homeserver and demo camera); copy config/config.example.yaml to use your own`,
    );
    // Loaded only here: the production path does not import dev/ (the chroot Synapse manager, the demo camera).
    const { runDemoCli } = await import("./dev/demo-cli.ts");
    await runDemoCli();
    return;
  }
  const file = asked ?? DEFAULT_CONFIG;
  if (!existsSync(file)) {
    bootLog.fatal({ file }, "the configuration file does not exist (see config/config.example.yaml)");
    process.exitCode = 2;
    return;
  }
  let config;
  try {
    config = loadConfigFile(file);
  } catch (err: unknown) {
    if (err instanceof ConfigError) {
      bootLog.fatal(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  processLog = log;
  let app;
  try {
    app = await startApp(config, { log });
  } catch (err: unknown) {
    // startApp has stopped whatever it had started; exit rather than wait for stray handles.
    log.fatal({ err: errorMessage(err) }, err instanceof StartupError ? "cannot start" : "startup failed");
    process.exit(1);
  }
  let shuttingDown = false;
  const shutdown = (why: string, code: number): void => {
    if (shuttingDown) {
      // A second signal does not cut the cleanup short; the forced exit below still bounds it.
      log.info({ signal: why }, "already shutting down");
      return;
    }
    shuttingDown = true;
    log.info({ signal: why }, "shutting down");
    const force = setTimeout(() => {
      log.warn({ afterMs: SHUTDOWN_MS }, "shutdown did not finish in time; exiting now");
      process.exit(1);
    }, SHUTDOWN_MS);
    force.unref();
    void app.stop().then(
      () => process.exit(code),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => {
    shutdown("SIGTERM", 0);
  });
  process.on("SIGINT", () => {
    shutdown("SIGINT", 0);
  });
  void app.failed.then(() => {
    shutdown("first sync failed", 1);
  });
}

process.on("unhandledRejection", (reason) => {
  noteUnhandledRejection();
  (processLog ??= createLogger()).error({ err: errorMessage(reason) }, "unhandled rejection");
});

void main();
