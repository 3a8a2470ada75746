/**
 * Errors as logs carry them: `log.warn({ err }, "…")` with the Error itself, never its message alone, so the
 * stack (where it went wrong), the cause chain (what it went wrong on) and the context the error class carries
 * (which camera, which status) reach the log. Every string passes through redactSecrets here, and the whole
 * line once more in the logger's stream hook: a camera URL in an ffmpeg message or a token in a fetch error's
 * stack is replaced before it is written.
 */
import { redactSecrets } from "./redact.ts";

export type ErrorContext = Readonly<Record<string, string | number | boolean | undefined>>;

/** An error that says what it was about: `new AppError("camera refused the backchannel", { camera, status: 453 })`. */
export class AppError extends Error {
  readonly context: ErrorContext;

  constructor(message: string, context: ErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}

export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: string | number;
  context?: ErrorContext;
  cause?: SerializedError;
}

/** A cause chain deeper than this is cut: a cycle (a.cause = b, b.cause = a) must not hang the logger. */
const MAX_CAUSE_DEPTH = 4;

/** pino's `err` serializer: anything thrown → a plain, redacted object. */
export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { type: typeof err, message: redactSecrets(String(err)) };
  const out: SerializedError = { type: err.name || err.constructor.name, message: redactSecrets(err.message) };
  if (err.stack !== undefined) out.stack = redactSecrets(err.stack);
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" || typeof code === "number") out.code = code;
  if (err instanceof AppError && Object.keys(err.context).length > 0) {
    out.context = Object.fromEntries(Object.entries(err.context).map(([k, v]) => [k, typeof v === "string" ? redactSecrets(v) : v]));
  }
  if (err.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(err.cause, depth + 1);
  return out;
}
