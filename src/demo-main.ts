/**
 * `npm run demo`: a working bot with a demo camera and a local homeserver, with no configuration (see src/dev/demo.ts
 * and src/dev/demo-cli.ts). Prints how to log in and call the camera; Ctrl-C or SIGTERM stops the bot and the homeserver.
 */
import { runDemoCli } from "./dev/demo-cli.ts";
import { createLogger } from "./util/logger.ts";

process.on("unhandledRejection", (reason) => {
  createLogger().error({ err: reason instanceof Error ? reason.message : String(reason) }, "unhandled rejection");
});

void runDemoCli();
