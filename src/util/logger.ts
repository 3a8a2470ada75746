import { pino, type Logger } from "pino";
import { serializeError } from "./errors.ts";
import { redactSecrets } from "./redact.ts";

export type { Logger } from "pino";
export { addSecret, redactSecrets, redactUrl, urlLabel } from "./redact.ts";
export { AppError, serializeError } from "./errors.ts";

/**
 * Paths pino blanks wherever they appear in a logged object. Beyond these, every line pino writes passes
 * through redactSecrets (its stream hook): the secret values of the configuration and URL credentials are
 * replaced whatever field or message they are in.
 */
const REDACT_PATHS = [
  "accessToken",
  "access_token",
  "password",
  "token",
  "webhookToken",
  "authorization",
  "headers.authorization",
  "headers.Authorization",
  "*.accessToken",
  "*.access_token",
  "*.password",
  "*.token",
  "*.authorization",
];

export interface LoggerOptions {
  level?: string;
  /** Pretty output for a person at a terminal; JSON otherwise. */
  pretty?: boolean;
  destination?: pino.DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env["LOG_LEVEL"] ?? "info";
  const base = {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { app: "matrix-camera-call" },
    // `err` holds the thrown value itself (stack, cause, context), redacted: see errors.ts.
    serializers: { err: serializeError },
    hooks: { streamWrite: (line: string) => redactSecrets(line) },
  };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? (process.stdout.isTTY && process.env["LOG_FORMAT"] !== "json");
  if (pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  return pino(base);
}

/** Turns anything thrown into a message that is safe to show a person (chat, doctor); logs take the error itself. */
export function errorMessage(err: unknown): string {
  return redactSecrets(err instanceof Error ? err.message : String(err));
}
