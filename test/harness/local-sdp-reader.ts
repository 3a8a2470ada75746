/**
 * Run as a child process by test/unit/local-description.test.ts: answers `count` offers the way the bot answers a
 * call (PeerLink), and reads the local SDP the way the bot does (takeLocalSdp) in a tight loop for 20 ms while ICE
 * gathers. With wrtc's `localDescription` getter behind takeLocalSdp this loop died of SIGSEGV (3 of 3 runs of 300
 * answers, 2026-12-04); it has to exit 0. Prints how many answers ended with candidates in their SDP.
 */
import { pino } from "pino";
import { PeerLink } from "../../src/rtc/peer-link.ts";
import { RTCPeerConnection } from "../../src/rtc/wrtc.ts";

const count = Number(process.argv[2] ?? "100");
const log = pino({ level: "silent" });
const offerer = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
offerer.addTransceiver("audio");
offerer.addTransceiver("video");
const offer = (await offerer.createOffer()).sdp ?? "";
let withCandidates = 0;
for (let i = 0; i < count; i++) {
  const link = new PeerLink([], {}, { iceState: () => undefined, candidates: () => undefined }, log);
  await link.setRemote("offer", offer);
  link.remoteDescriptionSet();
  await link.setLocal(await link.pc.createAnswer());
  const until = performance.now() + 20;
  while (performance.now() < until) {
    link.takeLocalSdp();
  }
  await link.gatherBriefly(2_000);
  if (link.takeLocalSdp().includes("\r\na=candidate:")) withCandidates++;
  link.close();
}
offerer.close();
// process.exit: a natural exit frees the environment, and wrtc's RTCRtpReceiver finalizers then crash (napi_reference_unref).
process.stdout.write(`${JSON.stringify({ withCandidates })}\n`, () => process.exit(0));
