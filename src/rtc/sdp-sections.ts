/**
 * An SDP rewritten one media section at a time: what the bot changes in a remote description (sdp-bitrate.ts,
 * sdp-audio.ts) is per m-section, because payload types are. The session part before the first m-line is passed
 * through; the line ending (CRLF, or LF) is kept, and the empty line after the last one stays last.
 */
export function mapMediaSections(sdp: string, rewrite: (section: readonly string[]) => readonly string[]): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(eol);
  const trailing = lines.at(-1) === "" ? lines.pop() : undefined;
  const out: string[] = [];
  let section: string[] = [];
  const flush = (): void => {
    out.push(...(section[0]?.startsWith("m=") === true ? rewrite(section) : section));
    section = [];
  };
  for (const line of lines) {
    if (line.startsWith("m=")) flush();
    section.push(line);
  }
  flush();
  if (trailing !== undefined) out.push(trailing);
  return out.join(eol);
}
