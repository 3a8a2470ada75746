/**
 * Which codec the bot's camera sound is sent in. Every legacy call encodes the camera's sound again (libwebrtc has one
 * audio encoder per call), and Opus at libwebrtc's desktop complexity (9) is not cheap: per-thread CPU of the bench
 * process, 8 calls of one 720p25 camera on the slow 2-core machine (`--only overload`, 2026-12-02): the 8 AudioEncoder
 * threads took 19.8 % of a core (22.9 % with 4 cameras), more than half of what the 8 video encoders took at 320×180
 * (33.7 %); with G.722, 4.2 % (3.8 %). Bot CPU with 8 calls on one camera 86–87 → 75 % of a core; 8 calls over 4
 * cameras 15.8–16.0 → 18.5 fps each.
 *
 * G.722 is wideband (16 kHz sampling, sound up to 7 kHz), what a camera's or doorbell's microphone gives (G.711 at
 * 8 kHz or AAC at 8–16 kHz on most); Opus would carry up to 20 kHz. Every WebRTC stack Element runs on (Chrome,
 * Firefox, Safari, libwebrtc on phones) receives it. No FEC (Opus turns its in-band FEC on under loss); the
 * receiver's NetEq conceals losses for every codec.
 *
 * How: the bot sends with the first codec of the *remote* description it supports, the callee with the first of the
 * bot's. So the callee's answer gets G.722 moved to the front of its audio formats before the bot applies it: the bot
 * sends G.722, the callee keeps sending Opus at 48 kHz, which talkback plays (talkback/listener.ts takes 48 kHz only).
 * Nothing sent to the callee changes. When the bot answers (a person called it) the caller's offer decides both ways
 * and is left alone: reordering it would make the caller send G.722 too.
 */
export const CAMERA_SOUND_CODEC = "G722";

/** The SDP with `codec`'s payload type first on every audio m-line that lists it; unchanged if none does. */
export function sendAudioAs(sdp: string, codec: string = CAMERA_SOUND_CODEC): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const lines = sdp.split(eol);
  const wanted = `${codec.toLowerCase()}/`;
  const out: string[] = [];
  // Payload types are per m-section: collect a section, then move its codec's type to the front of its m-line.
  let section: string[] = [];
  const flush = (): void => {
    const mline = section[0];
    if (mline?.startsWith("m=audio ") === true) {
      const pt = section.map((l) => /^a=rtpmap:(\d+) (\S+)$/.exec(l)).find((m) => m?.[2]?.toLowerCase().startsWith(wanted) === true)?.[1];
      const parts = mline.split(" ");
      if (pt !== undefined && parts.slice(3).includes(pt))
        section[0] = [...parts.slice(0, 3), pt, ...parts.slice(3).filter((f) => f !== pt)].join(" ");
    }
    out.push(...section);
    section = [];
  };
  for (const line of lines) {
    if (line.startsWith("m=")) flush();
    section.push(line);
  }
  flush();
  return out.join(eol);
}
