import { pino, type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Paths pino blanks wherever they appear in a logged object. Strings that may carry a secret
 * (camera URLs) are passed through {@link redactUrl} before they are logged at all.
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
  const base = { level, redact: { paths: REDACT_PATHS, censor: "[redacted]" }, base: { app: "matrix-camera-call" } };
  if (opts.destination) return pino(base, opts.destination);
  const pretty = opts.pretty ?? (process.stdout.isTTY && process.env["LOG_FORMAT"] !== "json");
  if (pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } });
  }
  return pino(base);
}

/** Removes user info (user:password@) from a URL-like string so it can be logged. */
export function redactUrl(url: string): string {
  // Greedy up to the last "@" before the path: a password may itself contain "@" (as ffmpeg reads it).
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/i, "$1***@");
}

/** Removes the user info of every URL inside a text (ffmpeg prints the input URL it opens). */
export function redactSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s'"]*@/gi, "$1***@");
}

/** Turns anything thrown into a message that is safe to log (camera URLs redacted). */
export function errorMessage(err: unknown): string {
  return redactSecrets(err instanceof Error ? err.message : String(err));
}
