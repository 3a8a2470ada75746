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
 * Nothing sent to the callee changes. Only calls the bot places are changed: when the bot answers (a person called
 * it, and their re-offers in such a call) the other side's offer decides both ways and is left alone, since
 * reordering it would make them send G.722 too. Calls the bot places are version 0, which has no renegotiation
 * (call/router.ts), so their sound stays G.722.
 */
import { mapMediaSections } from "./sdp-sections.ts";

export const CAMERA_SOUND_CODEC = "G722";

/**
 * The SDP with `codec`'s payload type first on every audio m-line that lists it, and that section's comfort noise
 * (CN) left out; unchanged where no audio m-line lists the codec. CN: with a CN of its clock rate in the remote
 * description libwebrtc wraps the send codec in voice detection and comfort noise; G.722's SDP clock is 8000, the
 * CN/8000 an answer may carry, so a quiet door would be sent as synthetic noise and a far voice could be cut
 * (Opus at 48000 never matched a CN, so with Opus this never happened).
 */
export function sendAudioAs(sdp: string, codec: string = CAMERA_SOUND_CODEC): string {
  const wanted = `${codec.toLowerCase()}/`;
  return mapMediaSections(sdp, (section) => (section[0]?.startsWith("m=audio ") === true ? audioSection(section, wanted) : section));
}

function audioSection(section: readonly string[], wanted: string): readonly string[] {
  const [mline = "", ...rest] = section;
  const types = (prefix: string): string[] =>
    rest.flatMap((l) => {
      const m = /^a=rtpmap:(\d+) (\S+)$/.exec(l);
      return m?.[1] !== undefined && m[2]?.toLowerCase().startsWith(prefix) === true ? [m[1]] : [];
    });
  const parts = mline.split(" ");
  const formats = parts.slice(3);
  const pt = types(wanted).find((t) => formats.includes(t));
  if (pt === undefined) return section;
  const cn = new Set(types("cn/"));
  const kept = rest.filter((l) => ![...cn].some((t) => new RegExp(`^a=(rtpmap|fmtp|rtcp-fb):${t}( |$)`).test(l)));
  return [[...parts.slice(0, 3), pt, ...formats.filter((f) => f !== pt && !cn.has(f))].join(" "), ...kept];
}
