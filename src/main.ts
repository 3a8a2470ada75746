/** Entry point: reads the config, starts the app, handles signals. Everything else is in app.ts. */
import { existsSync } from "node:fs";
import { startApp, StartupError } from "./app.ts";
import { ConfigError, loadConfigFile } from "./config/load.ts";
import { createLogger } from "./util/logger.ts";

function configPath(argv: readonly string[]): string {
  const i = argv.indexOf("--config");
  if (i >= 0 && argv[i + 1] !== undefined) return argv[i + 1] ?? "";
  return process.env["MCC_CONFIG"] ?? "config/config.yaml";
}

async function main(): Promise<void> {
  const bootLog = createLogger();
  const file = configPath(process.argv.slice(2));
  if (!existsSync(file)) {
    bootLog.fatal({ file }, "no configuration file: copy config/config.example.yaml to config/config.yaml (or pass --config FILE / MCC_CONFIG)");
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
