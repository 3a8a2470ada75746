/** What the bot needs from a camera's DESCRIBE answer: its ONVIF backchannel track, if any. */

export interface Backchannel {
  /** Absolute URL to SETUP (the track's a=control resolved against the base). */
  control: string;
  codec: "PCMU" | "PCMA";
  payloadType: number;
  clockRate: number;
}

/** An SDP longer than this is not a camera's answer (a camera's is 1–3 kB). */
export const MAX_SDP_BYTES = 32_768;

/** A media section that is not usable, or none at all: the reason, for one log line. */
export type BackchannelResult = { ok: true; track: Backchannel } | { ok: false; reason: string };

function resolveControl(control: string, base: string): string {
  if (control === "*" || control === "") return base;
  if (/^rtsp:\/\//i.test(control)) return control;
  return base.endsWith("/") ? base + control : `${base}/${control}`;
}

/**
 * Finds the backchannel: the audio media section marked `a=sendonly` (ONVIF Streaming Spec 5.3: the camera's
 * receive direction, seen from its own SDP) carrying G.711 at 8 kHz. `base` is the Content-Base (or the URL asked).
 */
export function findBackchannel(sdp: string, base: string): BackchannelResult {
  if (sdp.length > MAX_SDP_BYTES) return { ok: false, reason: `the SDP is ${sdp.length} bytes (over ${MAX_SDP_BYTES})` };
  const sections = sdp.split(/\r?\n(?=m=)/).slice(1);
  let sendonlyAudio = 0;
  for (const section of sections) {
    const lines = section.split(/\r?\n/);
    const m = /^m=audio \d+ \S+ ([\d ]+)$/.exec(lines[0]?.trim() ?? "");
    if (!m || !lines.some((l) => l.trim() === "a=sendonly")) continue;
    sendonlyAudio++;
    const payloads = (m[1] ?? "").trim().split(/\s+/).map(Number);
    const rtpmap = new Map<number, { name: string; rate: number }>();
    for (const l of lines) {
      const r = /^a=rtpmap:(\d+) ([A-Za-z0-9_-]+)\/(\d+)/.exec(l.trim());
      if (r) rtpmap.set(Number(r[1]), { name: (r[2] ?? "").toUpperCase(), rate: Number(r[3]) });
    }
    const controlLine = lines.find((l) => l.startsWith("a=control:"));
    const control = controlLine?.slice("a=control:".length).trim() ?? "";
    for (const pt of payloads) {
      // Static payload types 0 and 8 are PCMU and PCMA at 8 kHz even without an rtpmap line (RFC 3551).
      const map = rtpmap.get(pt) ?? (pt === 0 ? { name: "PCMU", rate: 8000 } : pt === 8 ? { name: "PCMA", rate: 8000 } : undefined);
      if (map === undefined || map.rate !== 8000 || (map.name !== "PCMU" && map.name !== "PCMA")) continue;
      if (!Number.isInteger(pt) || pt < 0 || pt > 127) continue;
      return { ok: true, track: { control: resolveControl(control, base), codec: map.name, payloadType: pt, clockRate: 8000 } };
    }
  }
  if (sendonlyAudio > 0) return { ok: false, reason: "the camera's backchannel takes no G.711 at 8 kHz (PCMU/PCMA)" };
  return { ok: false, reason: "the camera offers no ONVIF backchannel (no sendonly audio track)" };
}
