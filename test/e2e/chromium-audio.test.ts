/**
 * Element Web and Element Desktop are Chromium: the camera's sound that the bot sends as G.722 (src/rtc/sdp-audio.ts)
 * reaches a real Chromium's WebRTC, which decodes it and hears it, while Chromium keeps sending Opus (what talkback
 * plays). The bot's side is its own PeerLink, which reorders the answer, with a wrtc audio track playing a 1 kHz
 * tone; Chromium answers as a browser does, playing what it receives in an <audio> element and sending an oscillator.
 * A quiet door still arrives as sound, not as comfort noise.
 * No Matrix here (the call path test covers the signalling with matrix-js-sdk). Skips with one line without chromium.
 */
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { IceGathering } from "../../src/rtc/ice-gathering.ts";
import { PeerLink } from "../../src/rtc/peer-link.ts";
import { Chromium, chromiumBinary } from "../harness/element-call-callee/chromium.ts";
import { stopToneMics, toneMic, toneTrack } from "../harness/tone-mic.ts";
import { waitFor } from "../harness/wait.ts";
import { wrtc, type WrtcTrack } from "../harness/webrtc-env.ts";

const binary = chromiumBinary();
if ("skip" in binary) process.stderr.write(`${binary.skip}\n`);

const rtpSchema = z
  .object({ codec: z.string().optional(), level: z.number().optional(), samples: z.number().optional(), packets: z.number().optional() })
  .nullable();
const statsSchema = z.object({ received: rtpSchema, sent: rtpSchema });

/** The page's side: answer the bot's offer, play what comes, send an oscillator; then getStats of both directions. */
const ANSWER = (offer: string): string => `(async () => {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  const dest = ctx.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  pc.ontrack = (e) => {
    const a = new Audio();
    a.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    a.play().catch(() => undefined);
    window.played = a;
  };
  await pc.setRemoteDescription({ type: "offer", sdp: ${JSON.stringify(offer)} });
  const [t] = pc.getTransceivers();
  t.direction = "sendrecv";
  await t.sender.replaceTrack(dest.stream.getAudioTracks()[0]);
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise((done) => {
    if (pc.iceGatheringState === "complete") done();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done(); };
  });
  return pc.localDescription.sdp;
})()`;
const STATS = `(async () => {
  const all = new Map();
  (await window.pc.getStats()).forEach((s) => all.set(s.id, s));
  const rtp = (type) => {
    const r = [...all.values()].find((s) => s.type === type && s.kind === "audio");
    return r === undefined ? null : { codec: all.get(r.codecId)?.mimeType, level: r.audioLevel, samples: r.totalSamplesReceived, packets: r.packetsReceived };
  };
  return { received: rtp("inbound-rtp"), sent: rtp("outbound-rtp") };
})()`;

let browser: Chromium | undefined;
let sessionId = "";

async function evaluate(expression: string): Promise<unknown> {
  if (browser === undefined) throw new Error("no browser");
  const r = await browser.evaluate(sessionId, expression, 20_000);
  if (r.exception !== undefined) throw new Error(`chromium: ${r.exception}`);
  return r.value;
}

beforeAll(async () => {
  if ("skip" in binary) return;
  browser = Chromium.launch(binary.path);
  sessionId = await browser.openPage();
}, 60_000);

afterAll(async () => {
  stopToneMics();
  await browser?.close();
});

describe.skipIf("skip" in binary)("the camera's sound in a real Chromium (Element Web's engine)", () => {
  it("arrives as G.722, decoded and audible, while Chromium sends Opus", async () => {
    const link = new PeerLink([], {}, { iceState: () => undefined, candidates: () => undefined }, pino({ level: "silent" }));
    try {
      const track = toneTrack(1000) as unknown as WrtcTrack;
      toneMic.talk(true);
      link.pc.addTrack(track as unknown as MediaStreamTrack, new wrtc.MediaStream([track]) as unknown as MediaStream);
      const gathering = new IceGathering(link.pc);
      await link.setLocal(await link.pc.createOffer());
      expect(await gathering.complete(10_000), "the bot's ICE gathering").toBe(true);
      const answer = z.string().parse(await evaluate(ANSWER(link.takeLocalSdp())));
      // Chromium's own answer prefers Opus, as Element Web's does; the bot's PeerLink makes G.722 its choice.
      expect(answer).toMatch(/m=audio \d+ \S+ 111 /);
      await link.setRemote("answer", answer);
      link.remoteDescriptionSet();
      const heard = await waitFor(
        "Chromium to decode the tone",
        async () => {
          const s = statsSchema.parse(await evaluate(STATS));
          return (s.received?.level ?? 0) > 0.1 && (s.received?.samples ?? 0) > 48_000 ? s : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250 },
      );
      expect(heard.received?.codec).toBe("audio/G722");
      expect(heard.sent?.codec).toBe("audio/opus");
      // A quiet door is still sent as sound, 50 packets a second: no voice detection with comfort noise (sdp-audio.ts
      // leaves CN out), which would send a silence descriptor now and then instead.
      toneMic.talk(false);
      const packets = async (): Promise<number> => statsSchema.parse(await evaluate(STATS)).received?.packets ?? 0;
      await waitFor("silence at Chromium", async () => (statsSchema.parse(await evaluate(STATS)).received?.level ?? 1) < 0.01, {
        timeoutMs: 10_000,
        intervalMs: 250,
      });
      // 60 packets within 3 s: 50 a second take 1.2 s; comfort noise's one descriptor per 100 ms would give ≤ 30.
      const p0 = await packets();
      await waitFor("60 packets of the quiet door", async () => (await packets()) - p0 >= 60, { timeoutMs: 3000, intervalMs: 100 });
    } finally {
      toneMic.talk(false);
      link.close();
    }
  });
});
