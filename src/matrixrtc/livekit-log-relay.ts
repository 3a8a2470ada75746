/**
 * The LiveKit process's output into the bot's log (livekit-process.ts starts the process): its JSON log lines at
 * their own level, through the bot's logger and so its redaction; anything else it prints as debug, stderr as warnings.
 */
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { pino } from "pino";
import type { Logger } from "../util/logger.ts";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

/** A pino line's level number as the logger's method; "info" for anything else. */
function levelName(level: unknown): (typeof LEVELS)[number] {
  const name = typeof level === "number" ? pino.levels.labels[level] : undefined;
  return LEVELS.find((l) => l === name) ?? "info";
}

/** The child's stdout (its JSON log lines) into the bot's log at their own level; anything else (stderr) as warnings. */
export function relayLogs(child: ChildProcess, log: Logger): void {
  if (child.stdout !== null)
    createInterface({ input: child.stdout }).on("line", (line) => {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        log.debug({ line: line.slice(0, 500) }, "LiveKit process output");
        return;
      }
      const { level, msg } = rec;
      // The bot's logger adds its own time, pid, hostname and app.
      const fields = Object.fromEntries(
        Object.entries(rec).filter(([k]) => !["level", "msg", "time", "pid", "hostname", "app"].includes(k)),
      );
      log[levelName(level)](fields, typeof msg === "string" ? msg : "");
    });
  if (child.stderr !== null)
    createInterface({ input: child.stderr }).on("line", (line) => {
      if (line.trim() !== "") log.warn({ line: line.slice(0, 500) }, "LiveKit process stderr");
    });
}
