/** RTSP authentication (RFC 2617 as RTSP uses it): Basic, and Digest with MD5 (qop auth or none). */
import { createHash, randomBytes } from "node:crypto";

export interface Credentials {
  user: string;
  password: string;
}

const md5 = (s: string): string => createHash("md5").update(s, "utf8").digest("hex");

function params(header: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of header.matchAll(/([a-zA-Z]+)=(?:"([^"]*)"|([^\s,]*))/g)) out.set((m[1] ?? "").toLowerCase(), m[2] ?? m[3] ?? "");
  return out;
}

/**
 * The Authorization header answering a 401's WWW-Authenticate headers (Digest preferred over Basic), or undefined
 * when none is one we can answer.
 */
export function authorize(challenges: readonly string[], creds: Credentials, method: string, uri: string, nc: number): string | undefined {
  const digest = challenges.find((c) => /^digest\s/i.test(c));
  if (digest !== undefined) {
    const p = params(digest.slice(7));
    const realm = p.get("realm") ?? "";
    const nonce = p.get("nonce") ?? "";
    const algorithm = p.get("algorithm");
    if (algorithm !== undefined && algorithm.toUpperCase() !== "MD5") return undefined;
    const ha1 = md5(`${creds.user}:${realm}:${creds.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const q = (v: string): string => `"${v.replace(/["\\]/g, "")}"`;
    const fields = [`username=${q(creds.user)}`, `realm=${q(realm)}`, `nonce=${q(nonce)}`, `uri=${q(uri)}`];
    const qop = p
      .get("qop")
      ?.split(",")
      .map((s) => s.trim());
    if (qop?.includes("auth") === true) {
      const cnonce = randomBytes(8).toString("hex");
      const ncHex = nc.toString(16).padStart(8, "0");
      fields.push(`qop=auth`, `nc=${ncHex}`, `cnonce=${q(cnonce)}`, `response=${q(md5(`${ha1}:${nonce}:${ncHex}:${cnonce}:auth:${ha2}`))}`);
    } else {
      fields.push(`response=${q(md5(`${ha1}:${nonce}:${ha2}`))}`);
    }
    const opaque = p.get("opaque");
    if (opaque !== undefined) fields.push(`opaque=${q(opaque)}`);
    return `Digest ${fields.join(", ")}`;
  }
  if (challenges.some((c) => /^basic\b/i.test(c)))
    return `Basic ${Buffer.from(`${creds.user}:${creds.password}`, "utf8").toString("base64")}`;
  return undefined;
}
