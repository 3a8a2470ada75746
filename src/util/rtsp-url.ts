/** An rtsp:// camera URL split for a client of our own (the talkback's backchannel, the frame-end proxy). */

export interface RtspTarget {
  /** Where to connect (an IPv6 address without its brackets). */
  host: string;
  port: number;
  /** What to ask for: the URL without its credentials. */
  requestUrl: string;
  creds: { user: string; password: string } | undefined;
}

/** A percent-encoded URL part decoded; as written when it is not valid percent-encoding (`%zz`: URL keeps it). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Splits an rtsp:// URL; undefined when it is not one, or not a URL at all (a port over 65535, a raw `#` …). */
export function rtspTarget(url: string): RtspTarget | undefined {
  if (!URL.canParse(url)) return undefined;
  const u = new URL(url);
  if (u.protocol !== "rtsp:") return undefined;
  const creds = u.username !== "" ? { user: decoded(u.username), password: decoded(u.password) } : undefined;
  // URL percent-encodes a non-ASCII host of a scheme it does not know (rtsp): the name to look up is the decoded one.
  const host = decoded(u.hostname.replace(/^\[|\]$/g, ""));
  const port = u.port === "" ? 554 : Number(u.port);
  u.username = "";
  u.password = "";
  return { host, port, requestUrl: u.toString(), creds };
}
