/**
 * Secret redaction by pattern and by value. Patterns catch credentials of any URL (user info, credential-looking
 * query or path parameters); values catch what patterns cannot see: a password with a space or a quote, a
 * camera that takes its credentials in the path (XMEye's /user=admin_password=x_channel=1), a token printed bare.
 * The values are registered once, when the configuration is loaded (see config/secrets.ts), and every log line
 * (logger.ts's stream hook) and every doctor report passes through {@link redactSecrets}.
 */

/** Shorter values are not replaced by value (a 3-letter password would blank "msg", "cam", "pid" in every line); the patterns still apply. */
export const MIN_SECRET_LENGTH = 4;
/** Lines are cut to this many characters after redaction (ffmpeg prints SDP and metadata the camera chooses). */
export const MAX_LINE_CHARS = 1024;

/** Query and path parameter names that carry credentials on common cameras (Dahua, Foscam, XMEye, Hikvision, generic). */
const CREDENTIAL_KEYS =
  "user|username|usr|login|loginuse|account|password|passwd|pass|pwd|pw|psw|loginpas|token|access_token|auth|authorization|apikey|api_key|key|secret|sig|signature";
/** `key=value` after ?, &, ;, / or _ (XMEye joins its parameters with _); the value ends at the next parameter. */
const PARAM_PATTERN = new RegExp(`(?<=[?&;/_])(${CREDENTIAL_KEYS})=([^&;/\\s'"]*?)(?=_[a-z]+=|[&;/\\s'"#]|$)`, "gi");
/**
 * `scheme://userinfo@`, anchored so that a scheme starts only after a character that cannot be part of one:
 * unanchored, a 16 KiB line of letters took 194 ms (every position restarted the scheme scan); anchored it is linear.
 * The user info runs to the last "@" before the path and may hold "'" (legal in RFC 3986 user info), not whitespace or '"'.
 */
const USERINFO_PATTERN = /(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*:\/\/)[^/\s"]*@/gi;

/** value → replacement, longest value first (a whole URL before its parts). */
let known: [string, string][] = [];
const registered = new Map<string, string>();

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every form a value may take in a log line: as given, percent-encoded (either hex case, also '()*!), decoded, JSON-escaped. */
function forms(value: string): string[] {
  const encoded = encodeURIComponent(value);
  const strict = encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const base = [value, safeDecode(value), encoded, strict, strict.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())];
  return [...new Set([...base, ...base.map((v) => JSON.stringify(v).slice(1, -1))])];
}

/** Registers a secret value: from now on it is replaced (with `replacement`) wherever it appears in a log line or doctor output. */
export function addSecret(value: string | undefined, replacement = "***"): void {
  if (value === undefined) return;
  let changed = false;
  for (const form of forms(value)) {
    if (form.length < MIN_SECRET_LENGTH || registered.has(form)) continue;
    registered.set(form, replacement);
    changed = true;
  }
  if (changed) known = [...registered.entries()].sort((a, b) => b[0].length - a[0].length);
}

/** Forgets every registered value (tests). */
export function clearSecrets(): void {
  registered.clear();
  known = [];
}

/** Replaces every registered secret value. */
export function redactKnown(text: string): string {
  let out = text;
  for (const [value, replacement] of known) if (out.includes(value)) out = out.split(value).join(replacement);
  return out;
}

/** The user info (as it stands in the URL) and the credential-looking parameter values of a URL. */
export function urlCredentials(url: string): string[] {
  const out: string[] = [];
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i.exec(url)?.[1];
  if (userinfo !== undefined) {
    out.push(userinfo);
    const colon = userinfo.indexOf(":");
    out.push(colon >= 0 ? userinfo.slice(0, colon) : userinfo);
    if (colon >= 0) out.push(userinfo.slice(colon + 1));
  }
  for (const m of url.matchAll(PARAM_PATTERN)) if (m[2] !== undefined && m[2] !== "") out.push(m[2]);
  return out.filter((v) => v !== "");
}

/** How a URL may be shown: scheme://host:port, with "***@" when it had user info and "/…" when it had a path (which may hold credentials). */
export function urlLabel(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(?:([^/?#]*)@)?([^/?#]*)(.*)$/is.exec(url);
  if (!m) return url.startsWith("/") ? url : "***";
  return `${m[1] ?? ""}${m[2] !== undefined ? "***@" : ""}${m[3] ?? ""}${(m[4] ?? "") !== "" ? "/…" : ""}`;
}

/** Removes user info (user:password@) from a URL-like string so it can be logged. */
export function redactUrl(url: string): string {
  // Greedy up to the last "@" before the path: a password may itself contain "@" (as ffmpeg reads it).
  return redactKnown(url).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/\s]*@/i, "$1***@");
}

/**
 * Removes every known secret value, the user info of every URL and credential-looking parameter values from a
 * text; linear in its length. Lines longer than `maxChars` are cut after redaction.
 */
export function redactSecrets(text: string, maxChars = Infinity): string {
  const out = redactKnown(text).replace(USERINFO_PATTERN, "$1***@").replace(PARAM_PATTERN, "$1=***");
  return out.length > maxChars ? `${out.slice(0, maxChars)}…` : out;
}
