/**
 * What one call takes from its peer, on the real classes (the call core with OutgoingSignalling, PeerLink, CallManager with a real CameraHub
 * on the demo camera, real wrtc peer connections): the parties held while ringing and the remote candidates of a
 * call are capped (logged once when the cap bites), a call's events count only in the call's own room, and an
 * invite with an ended call's ID is not answered.
 */
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { CallManager } from "../../src/call/manager.ts";
import { MAX_REMOTE_CANDIDATES, PeerLink } from "../../src/rtc/peer-link.ts";
import { createOutgoingCall, MAX_PENDING_PARTIES, type OutgoingCall } from "../../src/call/outgoing-signalling.ts";
import { CallState } from "../../src/call/state.ts";
import { CameraHub, type CameraLease } from "../../src/media/camera-hub.ts";
import { TurnCredentials } from "../../src/rtc/turn.ts";
import { nonstandard, RTCPeerConnection } from "../../src/rtc/wrtc.ts";
import { handLease } from "../harness/hand-lease.ts";
import { waitFor } from "../harness/wait.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

const ROOM = "!dm:example.org";
const ALICE = "@alice:example.org";

interface Line {
  level: number;
  msg: string;
  [key: string]: unknown;
}
const lines: Line[] = [];
const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
const warnings = (text: string): Line[] => lines.filter((l) => l.level === 40 && l.msg.includes(text));

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A camera lease on real wrtc tracks (what CameraHub hands out, without ffmpeg). */
function lease(): CameraLease {
  return handLease("cam").lease;
}

/** A real answer to `offer`, as the invitee's client would make it. */
async function answerTo(offer: string): Promise<string> {
  const pc = new RTCPeerConnection();
  try {
    await pc.setRemoteDescription({ type: "offer", sdp: offer });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    return answer.sdp ?? "";
  } finally {
    pc.close();
  }
}

/** A distinct, well-formed host candidate on the first m-line. */
function candidate(i: number): { candidate: string; sdpMid: string; sdpMLineIndex: number } {
  return {
    candidate: `candidate:${i} 1 udp 2122260223 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} ${10000 + (i % 50000)} typ host`,
    sdpMid: "0",
    sdpMLineIndex: 0,
  };
}

function candidateLines(pc: RTCPeerConnection): number {
  return (pc.remoteDescription?.sdp.match(/^a=candidate:/gm) ?? []).length;
}

describe("remote candidates", () => {
  it(`a call passes at most ${MAX_REMOTE_CANDIDATES} remote candidates to libwebrtc, held ones included, and says so once`, async () => {
    const link = new PeerLink([], {}, { iceState: () => undefined, candidates: () => undefined }, log);
    const remote = new RTCPeerConnection();
    cleanups.push(() => {
      link.close();
      remote.close();
    });
    link.pc.addTrack(new nonstandard.RTCVideoSource().createTrack());
    await link.setLocal(await link.pc.createOffer());
    // 100 arrive before the remote description (held), 400 after: 500, as one m.call.candidates may carry.
    link.addRemoteCandidates(Array.from({ length: 100 }, (_, i) => candidate(i)));
    await remote.setRemoteDescription({ type: "offer", sdp: link.takeLocalSdp() });
    const answer = await remote.createAnswer();
    await remote.setLocalDescription(answer);
    await link.pc.setRemoteDescription({ type: "answer", sdp: answer.sdp ?? "" });
    const inAnswer = candidateLines(link.pc);
    link.remoteDescriptionSet();
    link.addRemoteCandidates(Array.from({ length: 400 }, (_, i) => candidate(100 + i)));
    link.addRemoteCandidates([candidate(9999)]);
    // libwebrtc applies candidates in order: once this marker is in, every candidate before it was handled.
    await link.pc.addIceCandidate(candidate(10_000));
    await waitFor("the marker candidate", () => candidateLines(link.pc) > inAnswer);
    expect(candidateLines(link.pc) - inAnswer).toBe(MAX_REMOTE_CANDIDATES + 1);
    expect(warnings("more remote candidates than a call takes")).toHaveLength(1);
  });
});

/** An outgoing call on a real PeerLink, started (ringing), that records what it sends; hung up after the test. */
async function ringingCall(callId: string): Promise<{ session: OutgoingCall; sent: { type: string; content: Record<string, unknown> }[] }> {
  const sent: { type: string; content: Record<string, unknown> }[] = [];
  const session = createOutgoingCall(
    {
      callId,
      partyId: "BOT",
      roomId: ROOM,
      invitee: ALICE,
      lifetimeMs: 60_000,
      iceDisconnectedTimeoutMs: 30_000,
      iceServers: [],
      gatherIntoOfferMs: 0,
    },
    lease(),
    (type, content) => {
      sent.push({ type, content });
      return Promise.resolve();
    },
    log,
  );
  cleanups.push(() => {
    session.hangup();
  });
  await session.start();
  return { session, sent };
}

describe("a ringing call's parties", () => {
  it(`holds candidates for at most ${MAX_PENDING_PARTIES} parties and says so once`, async () => {
    const { session, sent } = await ringingCall("1700000000000limits");
    expect(session.state).toBe(CallState.Ringing);
    const offer = sent.find((e) => e.type === "m.call.invite")?.content["offer"] as { sdp: string };
    // 1000 invented party IDs, ten candidates each, while ringing.
    for (let p = 0; p < 1000; p++) {
      session.signalling.onCandidates({
        call_id: "1700000000000limits",
        version: "1",
        party_id: `party${p}`,
        candidates: Array.from({ length: 10 }, (_, i) => candidate(p * 10 + i)),
      });
    }
    expect(warnings("more parties than a ringing call holds")).toHaveLength(1);
    // A party past the cap answers: its candidates were not held (those inside its SDP still count).
    session.signalling.onAnswer({
      call_id: "1700000000000limits",
      version: "1",
      party_id: `party${MAX_PENDING_PARTIES}`,
      answer: { type: "answer", sdp: await answerTo(offer.sdp) },
    });
    const accepted = await waitFor("the answer accepted", () => lines.find((l) => l.msg === "answer accepted"));
    expect(accepted["heldCandidates"]).toBe(0);
  });

  it("the answering party within the cap gets its held candidates", async () => {
    lines.length = 0;
    const { session, sent } = await ringingCall("1700000000001limits");
    const offer = sent.find((e) => e.type === "m.call.invite")?.content["offer"] as { sdp: string };
    for (let p = 0; p < MAX_PENDING_PARTIES; p++) {
      session.signalling.onCandidates({
        call_id: "1700000000001limits",
        version: "1",
        party_id: `party${p}`,
        candidates: [candidate(p * 2), candidate(p * 2 + 1)],
      });
    }
    expect(warnings("more parties than a ringing call holds")).toHaveLength(0);
    session.signalling.onAnswer({
      call_id: "1700000000001limits",
      version: "1",
      party_id: `party${MAX_PENDING_PARTIES - 1}`,
      answer: { type: "answer", sdp: await answerTo(offer.sdp) },
    });
    const accepted = await waitFor("the answer accepted", () => lines.find((l) => l.msg === "answer accepted"));
    expect(accepted["heldCandidates"]).toBe(2);
  });
});

/** A real CallManager on the demo camera, its sent events kept; stopped after the tests. */
function demoManager(): { manager: CallManager; sent: { roomId: string; type: string; content: Record<string, unknown> }[] } {
  const camera = testCamera({ url: "demo://clock", maxWidth: 160, maxHeight: 120, maxFps: 5 });
  const hub = new CameraHub([camera], { full: ffmpegPath() }, log, 0);
  const sent: { roomId: string; type: string; content: Record<string, unknown> }[] = [];
  const manager = new CallManager(
    hub,
    new TurnCredentials(() => Promise.resolve({}), log),
    (roomId, type, content) => {
      sent.push({ roomId, type, content });
      return Promise.resolve();
    },
    { inviteLifetimeMs: 60_000, iceDisconnectedTimeoutMs: 30_000 },
    log,
  );
  cleanups.push(() => hub.stopAll());
  cleanups.push(() => manager.hangupAll());
  return { manager, sent };
}

describe("routing by room", () => {
  it("the invitee's answer for the call ID in another room is ignored; in the call's room it is taken", async () => {
    const { manager, sent } = demoManager();
    const session = await manager.placeCall(ROOM, ALICE, "cam");
    expect(session.state).toBe(CallState.Ringing);
    const offer = sent.find((e) => e.type === "m.call.invite")?.content["offer"] as { sdp: string };
    const answer = {
      call_id: session.callId,
      version: "1",
      party_id: "ALICEDEVICE",
      answer: { type: "answer", sdp: await answerTo(offer.sdp) },
    };
    const ctx = { botUserId: "@bot:example.org", senderAllowed: true, checkRoom: () => Promise.resolve(undefined) };
    manager.handleEvent({ roomId: "!elsewhere:example.org", sender: ALICE, type: "m.call.answer", content: answer, ageMs: 0 }, ctx);
    expect(session.state).toBe(CallState.Ringing);
    manager.handleEvent({ roomId: ROOM, sender: ALICE, type: "m.call.answer", content: answer, ageMs: 0 }, ctx);
    expect(session.state).toBe(CallState.Connecting);
  });
});

describe("call IDs", () => {
  it("an invite carrying the ID of a call that ended is a replay: ignored, no call answered", async () => {
    const { manager, sent } = demoManager();
    const ctx = { botUserId: "@bot:example.org", senderAllowed: true, checkRoom: () => Promise.resolve(undefined) };
    const session = await manager.placeCall(ROOM, ALICE, "cam");
    const offer = sent.find((e) => e.type === "m.call.invite")?.content["offer"] as { sdp: string };
    // What the fuzz test found (seed 1187341383): the callee declines, then invites with the same call ID.
    manager.handleEvent(
      {
        roomId: ROOM,
        sender: ALICE,
        type: "m.call.reject",
        content: { call_id: session.callId, version: "1", party_id: "ALICEDEV" },
        ageMs: 0,
      },
      ctx,
    );
    await waitFor("the call ended", () => manager.activeCount() === 0);
    const invite = {
      call_id: session.callId,
      version: "1",
      party_id: "ALICEDEV",
      lifetime: 60_000,
      offer: { type: "offer", sdp: offer.sdp },
    };
    manager.handleEvent({ roomId: ROOM, sender: ALICE, type: "m.call.invite", content: invite, ageMs: 0 }, ctx);
    // A fresh call ID is answered as before (the bot asks for the room check and answers).
    const fresh = { ...invite, call_id: "fresh-call" };
    manager.handleEvent({ roomId: ROOM, sender: ALICE, type: "m.call.invite", content: fresh, ageMs: 0 }, ctx);
    await waitFor("the fresh invite answered", () => manager.callInRoom(ROOM));
    expect(manager.callInRoom(ROOM)?.callId).toBe("fresh-call");
    expect(lines.some((l) => l.msg === "answering a call placed to the bot" && l["call"] === session.callId)).toBe(false);
  });
});
