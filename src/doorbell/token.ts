/** The webhook's bearer token check, in constant time. */
import { createHash, timingSafeEqual } from "node:crypto";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Whether an Authorization header carries `Bearer <expected>`. Both sides are hashed first, so the
 * comparison is over equal-length digests and its time says nothing about the token or its length.
 */
export function bearerTokenMatches(header: string | string[] | undefined, expected: string): boolean {
  if (typeof header !== "string" || header.length > 4096) return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const given = m?.[1] ?? "";
  const equal = timingSafeEqual(digest(given), digest(expected));
  return given !== "" && equal;
}
