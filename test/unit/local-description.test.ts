/**
 * The local SDP the bot sends, made without wrtc's `localDescription` getter (src/rtc/local-description.ts): where the
 * candidates go, and, on the real wrtc, that the SDP carries what libwebrtc gathered, that a peer connects from it
 * alone, and that reading it while ICE gathers no longer kills the process.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { IceGathering } from "../../src/rtc/ice-gathering.ts";
import { LocalDescription, withCandidates } from "../../src/rtc/local-description.ts";
import { PeerLink } from "../../src/rtc/peer-link.ts";
import { RTCPeerConnection } from "../../src/rtc/wrtc.ts";
import { waitFor } from "../harness/wait.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const SDP = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=mid:0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=mid:1",
  "",
].join("\r\n");
const host = (port: number, ufrag = "abcd"): string =>
  `candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host generation 0 ufrag ${ufrag} network-id 1`;
const candidateLines = (sdp: string): string[] => sdp.split("\r\n").filter((l) => l.startsWith("a=candidate:"));

describe("withCandidates", () => {
  it("writes each candidate into its m-section, by mid or else by index, as libwebrtc writes it (no ufrag)", () => {
    const sdp = withCandidates(SDP, [
      { candidate: host(1000), sdpMid: "0", sdpMLineIndex: 0 },
      { candidate: host(1001), sdpMLineIndex: 1 },
    ]);
    const lines = sdp.split("\r\n");
    expect(lines.slice(5, 9)).toEqual([
      "m=audio 9 UDP/TLS/RTP/SAVPF 111",
      "c=IN IP4 0.0.0.0",
      "a=candidate:1 1 udp 2122260223 127.0.0.1 1000 typ host generation 0 network-id 1",
      "a=ice-ufrag:abcd",
    ]);
    expect(lines.slice(10, 13)).toEqual([
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "c=IN IP4 0.0.0.0",
      "a=candidate:1 1 udp 2122260223 127.0.0.1 1001 typ host generation 0 network-id 1",
    ]);
    expect(sdp.endsWith("a=mid:1\r\n")).toBe(true);
  });

  it("leaves out another ICE generation's candidates and ones the SDP already has; none: the SDP as it was", () => {
    const once = withCandidates(SDP, [{ candidate: host(1000), sdpMid: "0" }]);
    expect(withCandidates(once, [{ candidate: host(1000), sdpMid: "0" }])).toBe(once);
    expect(withCandidates(SDP, [{ candidate: host(1000, "old1"), sdpMid: "0" }])).toBe(SDP);
    expect(withCandidates(SDP, [])).toBe(SDP);
  });
});

describe("LocalDescription", () => {
  it("follows the description set, with the candidates gathered for it; a new ICE generation drops the old ones", () => {
    const local = new LocalDescription();
    expect(local.sdp()).toBeUndefined();
    expect(local.description()).toBeNull();
    local.set({ type: "offer", sdp: SDP });
    local.add({ candidate: host(1000), sdpMid: "0" });
    local.add({ candidate: "" });
    expect(candidateLines(local.sdp() ?? "")).toHaveLength(1);
    expect(local.description()?.toJSON()).toEqual({ type: "offer", sdp: local.sdp() });
    local.set({ type: "offer", sdp: SDP.replaceAll("abcd", "efgh") });
    expect(candidateLines(local.sdp() ?? "")).toEqual([]);
    local.add({ candidate: host(2000, "efgh"), sdpMid: "0" });
    expect(candidateLines(local.sdp() ?? "")).toEqual(["a=candidate:1 1 udp 2122260223 127.0.0.1 2000 typ host generation 0 network-id 1"]);
    expect(() => {
      local.set({ type: "offer" });
    }).toThrow(/needs its SDP/);
  });
});

describe("on the real wrtc", () => {
  const log = pino({ level: "silent" });
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it("a PeerLink's SDP carries every candidate libwebrtc gathered, and a peer connects from the SDPs alone", async () => {
    const link = new PeerLink([], {}, { iceState: () => undefined, candidates: () => undefined }, log);
    const remote = new RTCPeerConnection();
    cleanups.push(() => {
      link.close();
      remote.close();
    });
    link.pc.addTransceiver("audio");
    link.pc.addTransceiver("video");
    const gathering = new IceGathering(link.pc);
    await link.setLocal(await link.pc.createOffer());
    expect(await gathering.complete(15_000), "the bot's ICE gathering").toBe(true);
    const offer = link.takeLocalSdp();
    // Safe once gathering is complete: nothing writes to libwebrtc's description any more.
    // eslint-disable-next-line no-restricted-properties
    const own = link.pc.localDescription?.sdp ?? "";
    expect(candidateLines(own).length).toBeGreaterThan(0);
    expect(candidateLines(offer).sort()).toEqual(candidateLines(own).sort());

    // No trickle either way: only the candidates in the SDPs.
    await remote.setRemoteDescription({ type: "offer", sdp: offer });
    const answer = await remote.createAnswer();
    const remoteGathering = new IceGathering(remote);
    await remote.setLocalDescription(answer);
    expect(await remoteGathering.complete(15_000), "the peer's ICE gathering").toBe(true);
    // eslint-disable-next-line no-restricted-properties
    await link.setRemote("answer", remote.localDescription?.sdp ?? "");
    await waitFor("ICE connected", () => ["connected", "completed"].includes(link.pc.iceConnectionState));
  });

  it("with Node's thread held while ICE gathers, the SDP and the trickle still carry every candidate, the end last", async () => {
    const batches: string[][] = [];
    const link = new PeerLink([], {}, { iceState: () => undefined, candidates: (b) => batches.push(b.map((c) => c.candidate)) }, log);
    cleanups.push(() => {
      link.close();
    });
    const watch = new IceGathering(link.pc);
    link.pc.addTransceiver("audio");
    await link.setLocal(await link.pc.createOffer());
    // Gathering (host candidates, ~5 ms) ends while the thread is held: wrtc then reads "complete" at its first
    // gathering event and sends its end-of-candidates before the candidates (before the fix: all 8 lost).
    const until = performance.now() + 300;
    while (performance.now() < until);
    await link.gatherBriefly(200);
    const inSdp = candidateLines(link.takeLocalSdp()).map((l) => l.slice("a=".length));
    link.startTrickle();
    await waitFor("the end of the trickle", () => batches.flat().includes(""));
    expect(await watch.complete(1000)).toBe(true);
    // eslint-disable-next-line no-restricted-properties -- gathering is complete: nothing writes to it any more
    const gathered = candidateLines(link.pc.localDescription?.sdp ?? "").map((l) => l.slice("a=".length));
    const trickled = batches
      .flat()
      .filter((c) => c !== "")
      .map((c) => c.replace(/ ufrag \S+/, ""));
    expect(gathered.length).toBeGreaterThan(0);
    expect([...inSdp, ...trickled].sort()).toEqual([...gathered].sort());
    expect(batches.flat().at(-1)).toBe("");
  });

  it("reading the local SDP as the bot does while ICE gathers, 300 answers in a tight loop: the process lives", async () => {
    // In a child process: the bug this guards against is a SIGSEGV. Against wrtc's getter: 3 of 3 runs died.
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "test/harness/local-sdp-reader.ts", "300"], {
      cwd: ROOT,
      timeout: 120_000,
    });
    const result = JSON.parse(stdout.trim()) as { withCandidates: number };
    expect(result.withCandidates).toBe(300);
  }, 150_000);
});
