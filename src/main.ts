/** Entry point: reads the config, starts the app, handles signals. Everything else is in app.ts. */
import { existsSync } from "node:fs";
import { startApp, StartupError } from "./app.ts";
import { ConfigError, loadConfigFile } from "./config/load.ts";
import { runDemoCli } from "./dev/demo-cli.ts";
import { createLogger } from "./util/logger.ts";

const DEFAULT_CONFIG = "config/config.yaml";

/** The config file asked for (--config FILE, else MCC_CONFIG), or undefined for the default. */
function configPath(argv: readonly string[]): string | undefined {
  const i = argv.indexOf("--config");
  if (i >= 0) return argv[i + 1] ?? "";
  return process.env["MCC_CONFIG"];
}

async function main(): Promise<void> {
  const bootLog = createLogger();
  const asked = configPath(process.argv.slice(2));
  if (asked === undefined && !existsSync(DEFAULT_CONFIG)) {
    // The embedded default: no configuration at all gives a local homeserver and a demo camera.
    bootLog.info(`no ${DEFAULT_CONFIG}: starting the demo (local homeserver and demo camera); copy config/config.example.yaml to use your own`);
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
  let app;
  try {
    app = await startApp(config, { log });
  } catch (err: unknown) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, err instanceof StartupError ? "cannot start" : "startup failed");
    process.exitCode = 1;
    return;
  }
  const shutdown = (signal: string): void => {
    log.info({ signal }, "shutting down");
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    void app.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => { shutdown("SIGTERM"); });
  process.once("SIGINT", () => { shutdown("SIGINT"); });
}

process.on("unhandledRejection", (reason) => {
  createLogger().error({ err: reason instanceof Error ? reason.message : String(reason) }, "unhandled rejection");
});

void main();
