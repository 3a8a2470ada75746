import type { MatrixClient } from "matrix-bot-sdk";
import { type Logger } from "../util/logger.ts";

const ATTEMPTS = 5;

function retryAfterMs(err: unknown, attempt: number): number {
  const body = (err as { body?: { errcode?: unknown; retry_after_ms?: unknown } }).body;
  if (body?.errcode === "M_LIMIT_EXCEEDED" && typeof body.retry_after_ms === "number") return Math.min(body.retry_after_ms, 10_000);
  return Math.min(250 * 2 ** attempt, 4000);
}

function isRetryable(err: unknown): boolean {
  const status = (err as { statusCode?: unknown }).statusCode;
  return typeof status !== "number" || status === 429 || status >= 500;
}

/** Sends a room event, retrying with backoff (and the server's retry_after_ms) on rate limits and errors. */
export async function sendRoomEvent(
  client: MatrixClient,
  roomId: string,
  type: string,
  content: Record<string, unknown>,
  log: Logger,
): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.sendEvent(roomId, type, content);
    } catch (err: unknown) {
      if (attempt + 1 >= ATTEMPTS || !isRetryable(err)) throw err;
      const wait = retryAfterMs(err, attempt);
      log.debug({ type, attempt, waitMs: wait, err }, "sending failed; retrying");
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
