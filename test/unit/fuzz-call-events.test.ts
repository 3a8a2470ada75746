/**
 * Property-based fuzzing (fast-check) of inbound call events: arbitrary JSON as the contents of every m.call.* type,
 * sent to the real CallManager (real sessions, real wrtc peer connections) holding a call in each direction. The
 * camera hub is a small fake handing out wrtc tracks (no ffmpeg) and events go to a recording send function. No input
 * may throw, reject unhandled, or make the bot send an event the spec's schemas refuse; every malformed event for a
 * live call is logged; nothing is left behind. The two state machines get arbitrary input sequences.
 */
import fc from "fast-check";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EventContext } from "../../src/call/invite-admission.ts";
import {
  incomingTransition as inboundTransition,
  initialIncomingContext as initialInboundContext,
  type IncomingInput as InboundInput,
} from "../../src/call/incoming-state.ts";
import { CallManager } from "../../src/call/manager.ts";
import {
  initialOutgoingContext as initialContext,
  outgoingTransition as transition,
  type OutgoingInput as CallInput,
} from "../../src/call/outgoing-state.ts";
import { CallState } from "../../src/call/state.ts";
import type { CameraHub } from "../../src/media/camera-hub.ts";
import { nonstandard, openPeerConnectionCount, RTCPeerConnection } from "../../src/rtc/wrtc.ts";
import { TurnCredentials } from "../../src/rtc/turn.ts";
import {
  answerSchema,
  CallEventType,
  candidatesSchema,
  hangupSchema,
  negotiateSchema,
  rejectSchema,
  selectAnswerSchema,
} from "../../src/call/wire.ts";
import { validateCallEvent } from "../harness/spec-validator.ts";
import { waitFor } from "../harness/wait.ts";

const ROOM = "!fuzz:example.org";
const BOT = "@bot:example.org";
const ALICE = "@alice:example.org";
/** Every call event type the spec has, and one it does not. */
const TYPES = [...Object.values(CallEventType), "m.call.nonsense"];
const HANGUP_REASONS = new Set([
  "ice_failed",
  "ice_timeout",
  "invite_timeout",
  "user_hangup",
  "user_media_failed",
  "user_busy",
  "unknown_error",
]);
/** Stand-ins the property replaces at run time with the live call's ID and a real SDP. */
const LIVE = "$LIVE_CALL_ID";
const REAL_SDP = "$REAL_SDP";

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
const lines: { msg: string }[] = [];
const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s) as { msg: string }) });
const sent: { type: string; content: Record<string, unknown> }[] = [];
let leases = 0;
let offerSdp = "";

function fakeHub(): CameraHub {
  const video = new nonstandard.RTCVideoSource();
  const audio = new nonstandard.RTCAudioSource();
  // As the real hub: one pair of tracks per camera, shared by its calls.
  const tracks = { video: video.createTrack(), audio: audio.createTrack() };
  const hub = {
    names: () => ["cam"],
    has: (name: string) => name === "cam",
    // An outgoing call starts its camera once its invite is out; these tracks need no start.
    startLeased: () => undefined,
    acquire: (camera: string) => {
      leases++;
      let released = false;
      return {
        camera,
        video: tracks.video,
        audio: tracks.audio,
        release: () => {
          if (!released) {
            released = true;
            leases--;
          }
        },
      };
    },
  };
  return hub as unknown as CameraHub;
}

const manager = new CallManager(
  fakeHub(),
  new TurnCredentials(() => Promise.resolve({}), log),
  (_room, type, content) => {
    sent.push({ type, content });
    return Promise.resolve();
  },
  { inviteLifetimeMs: 60_000, iceDisconnectedTimeoutMs: 30_000 },
  log,
);
const ctx: EventContext = { botUserId: BOT, senderAllowed: true, checkRoom: () => Promise.resolve(undefined) };

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 20 }), fc.constant(""));
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined | fc.JsonValue> =>
  fc.oneof({ weight: 3, arbitrary: arb }, fc.constant(undefined), fc.jsonValue({ maxDepth: 2 }));
const sdp = fc.oneof(fc.constant(REAL_SDP), text, fc.constant("v=0\r\n"));
/** Contents shaped like call events, each field sometimes right, sometimes wrong, sometimes missing. */
const callish = fc.record(
  {
    call_id: fc.oneof({ weight: 4, arbitrary: fc.constant(LIVE) }, text, fc.jsonValue({ maxDepth: 1 })),
    version: fc.oneof(fc.constant(0), fc.constant("1"), fc.constant(1), text),
    party_id: maybe(text),
    answer: maybe(fc.record({ type: fc.oneof(fc.constant("answer"), text), sdp })),
    offer: maybe(fc.record({ type: fc.oneof(fc.constant("offer"), text), sdp })),
    description: maybe(fc.record({ type: fc.oneof(fc.constant("offer"), fc.constant("answer"), text), sdp })),
    candidates: maybe(
      fc.array(
        fc.record(
          {
            candidate: maybe(text),
            sdpMid: maybe(fc.oneof(fc.constant("0"), text)),
            sdpMLineIndex: maybe(fc.integer({ min: -2, max: 3 })),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 4 },
      ),
    ),
    reason: maybe(text),
    selected_party_id: maybe(text),
    lifetime: maybe(fc.oneof(fc.integer(), fc.constant(60_000))),
    invitee: maybe(fc.oneof(fc.constant(BOT), text)),
  },
  { requiredKeys: [] },
);
const sender = fc.oneof({ weight: 5, arbitrary: fc.constant(ALICE) }, fc.constant("@mallory:example.org"));
/** Events as a real peer sends them (a real answer, a real ICE-restart offer, host candidates), some from other parties. */
const wellFormed = fc
  .record({
    type: fc.constantFrom(
      "m.call.answer",
      "m.call.candidates",
      "m.call.hangup",
      "m.call.reject",
      "m.call.select_answer",
      "m.call.negotiate",
    ),
    version: fc.constantFrom<0 | "1">("1", "1", 0),
    party: fc.constantFrom("ALICEDEV", "ALICEDEV", "OTHERDEV"),
    port: fc.integer({ min: 1, max: 65_535 }),
    reason: fc.constantFrom("user_hangup", "ice_failed", "weird"),
    selected: fc.constantFrom("ALICEDEV", "SOMEONE", "$OUR_PARTY"),
    sender,
  })
  .map(({ type, version, party, port, reason, selected, sender: from }) => {
    const base = { call_id: LIVE, version, party_id: party };
    const content: Record<string, unknown> = {
      "m.call.answer": { ...base, answer: { type: "answer", sdp: REAL_SDP } },
      "m.call.candidates": {
        ...base,
        candidates: [
          { candidate: `candidate:1 1 udp 2122260223 127.0.0.1 ${port} typ host`, sdpMid: "0", sdpMLineIndex: 0 },
          { candidate: "" },
        ],
      },
      "m.call.hangup": { ...base, reason },
      "m.call.reject": base,
      "m.call.select_answer": { ...base, selected_party_id: selected },
      "m.call.negotiate": { ...base, description: { type: "offer", sdp: REAL_SDP }, lifetime: 60_000 },
    }[type];
    return { type, sender: from, content };
  });
const eventArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constantFrom(...TYPES),
      sender,
      content: fc.oneof({ weight: 5, arbitrary: callish }, fc.jsonValue({ maxDepth: 3 })),
    }),
  },
  { weight: 1, arbitrary: wellFormed },
);

/** An answer to the live outgoing call's offer, made by a real peer connection (set per run). */
let answerSdp = "";

/** Puts the live call's ID, a real SDP (an answer under "answer", else an offer) and our party ID in place. */
function resolve(content: unknown, liveId: string, key = ""): unknown {
  if (content === LIVE) return liveId;
  if (content === REAL_SDP) return key === "answer" && answerSdp !== "" ? answerSdp : offerSdp;
  if (content === "$OUR_PARTY") return manager.partyId;
  if (Array.isArray(content)) return content.map((c) => resolve(c, liveId, key));
  if (content !== null && typeof content === "object")
    return Object.fromEntries(Object.entries(content).map(([k, v]) => [k, resolve(v, liveId, k === "sdp" ? key : k)]));
  return content;
}

/** A real answer to the offer of the invite the bot just sent. */
async function realAnswer(): Promise<string> {
  const invite = sent.find((e) => e.type === "m.call.invite");
  const offer = (invite?.content["offer"] as { sdp?: string } | undefined)?.sdp;
  if (offer === undefined) return "";
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

/** Feeds the events to the manager while `liveId` is its call; checks what a live call must do with each. */
async function feed(events: readonly { type: string; sender: string; content: unknown }[], liveId: string): Promise<void> {
  let malformedExpected = 0;
  const malformedBefore = lines.filter((l) => l.msg === "malformed call event ignored").length;
  for (const e of events) {
    const content = resolve(e.content, liveId);
    const live = manager.callInRoom(ROOM);
    const direction = live?.callId === liveId && live.state !== CallState.Ended ? live.direction : undefined;
    const used =
      direction === "outgoing"
        ? ["m.call.answer", "m.call.candidates", "m.call.hangup", "m.call.reject"]
        : ["m.call.candidates", "m.call.hangup", "m.call.select_answer", "m.call.negotiate"];
    const routed =
      direction !== undefined &&
      e.sender === ALICE &&
      used.includes(e.type) &&
      (content as { call_id?: unknown } | null)?.call_id === liveId;
    if (routed && SCHEMAS[e.type]?.safeParse(content).success === false) malformedExpected++;
    expect(() => {
      manager.handleEvent({ roomId: ROOM, sender: e.sender, type: e.type, content, ageMs: 0 }, ctx);
    }).not.toThrow();
  }
  // Let the sessions' own promises (setRemoteDescription, sends) run.
  await new Promise((r) => setImmediate(r));
  const malformedLogged = lines.filter((l) => l.msg === "malformed call event ignored").length - malformedBefore;
  expect(malformedLogged).toBe(malformedExpected);
}

/** The bot's own schemas (wire.ts): a routed event they refuse must be logged as malformed. */
const SCHEMAS: Record<string, { safeParse(v: unknown): { success: boolean } }> = {
  "m.call.answer": answerSchema,
  "m.call.candidates": candidatesSchema,
  "m.call.hangup": hangupSchema,
  "m.call.reject": rejectSchema,
  "m.call.select_answer": selectAnswerSchema,
  "m.call.negotiate": negotiateSchema,
};

function checkSent(): void {
  for (const e of sent.splice(0))
    expect(validateCallEvent(e.type, e.content).errors, `${e.type} ${JSON.stringify(e.content).slice(0, 200)}`).toEqual([]);
}

async function endAll(): Promise<void> {
  await manager.hangupAll("user_hangup", 100);
  await waitFor("no call left", () => manager.activeCount() === 0, { timeoutMs: 5000 });
  checkSent();
  expect(openPeerConnectionCount()).toBe(0);
  expect(leases).toBe(0);
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  const pc = new RTCPeerConnection();
  pc.addTransceiver("audio");
  pc.addTransceiver("video");
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  offerSdp = offer.sdp ?? "";
  pc.close();
});

afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
});

describe("fuzzed call events into the real CallManager", () => {
  it("during a call the bot placed: no throw, only spec-valid events sent, malformed ones logged, nothing left", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 15 }), async (events) => {
        const session = await manager.placeCall(ROOM, ALICE, "cam");
        answerSdp = await realAnswer();
        await feed(events, session.callId);
        await endAll();
      }),
      { numRuns: 60 },
    );
    expect(unhandled).toEqual([]);
  }, 120_000);

  it("during a call placed to the bot: the same", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 15 }), async (events) => {
        const callId = `inbound-${n++}`;
        answerSdp = "";
        manager.handleEvent(
          {
            roomId: ROOM,
            sender: ALICE,
            type: "m.call.invite",
            content: { call_id: callId, version: "1", party_id: "ALICEDEV", lifetime: 60_000, offer: { type: "offer", sdp: offerSdp } },
            ageMs: 0,
          },
          ctx,
        );
        await waitFor("the bot's answer", () => manager.callInRoom(ROOM)?.state === CallState.Connecting, { timeoutMs: 5000 });
        await feed(events, callId);
        await endAll();
      }),
      { numRuns: 40 },
    );
    expect(unhandled).toEqual([]);
  }, 120_000);
});

describe("the state machines under arbitrary input sequences", () => {
  const party = fc.oneof(fc.constant(null), fc.constantFrom("A", "B"));
  const iceState = fc.constantFrom<Extract<CallInput, { kind: "ice" }>["state"]>(
    "checking",
    "connected",
    "completed",
    "disconnected",
    "failed",
    "closed",
    "new",
  );
  const reason = fc.constantFrom("user_hangup", "ice_failed", "user_busy", "unknown_error") as fc.Arbitrary<"user_hangup">;

  it("outgoing: never throws, ends once, stays ended, sends only spec reasons", () => {
    const input: fc.Arbitrary<CallInput> = fc.oneof(
      fc.constant({ kind: "invite_sent" as const }),
      party.map((partyId) => ({ kind: "answer" as const, partyId })),
      fc
        .record({ partyId: party, reason: fc.option(fc.string(), { nil: undefined }) })
        .map((r) => ({ kind: "remote_hangup" as const, ...r })),
      party.map((partyId) => ({ kind: "remote_reject" as const, partyId })),
      fc.constant({ kind: "remote_left" as const }),
      fc.constantFrom("invite", "iceDisconnected").map((timer) => ({ kind: "timer" as const, timer: timer as "invite" })),
      iceState.map((state) => ({ kind: "ice" as const, state })),
      reason.map((r) => ({ kind: "local_hangup" as const, reason: r })),
      fc.constant({ kind: "replaced" as const }),
      reason.map((r) => ({ kind: "failure" as const, reason: r })),
    );
    fc.assert(
      fc.property(fc.array(input, { maxLength: 30 }), (inputs) => {
        let c = initialContext();
        let terminated = 0;
        for (const i of inputs) {
          const wasEnded = c.state === CallState.Ended;
          const t = transition(c, i);
          if (wasEnded) expect(t.actions).toEqual([]);
          for (const a of t.actions) {
            if (a.kind === "terminate") terminated++;
            if (a.kind === "send_hangup") expect(HANGUP_REASONS.has(a.reason)).toBe(true);
          }
          c = t.next;
        }
        expect(terminated).toBe(c.state === CallState.Ended ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  });

  it("incoming: the same", () => {
    const input: fc.Arbitrary<InboundInput> = fc.oneof(
      fc.constant({ kind: "answer_sent" as const }),
      party.map((partyId) => ({ kind: "remote_hangup" as const, partyId })),
      fc.record({ partyId: party, selectedUs: fc.boolean() }).map((r) => ({ kind: "select_answer" as const, ...r })),
      fc
        .record({ partyId: party, description: fc.constantFrom("offer", "answer") as fc.Arbitrary<"offer">, expired: fc.boolean() })
        .map((r) => ({ kind: "negotiate" as const, ...r })),
      fc.constant({ kind: "remote_left" as const }),
      fc.constant({ kind: "timer" as const, timer: "iceDisconnected" as const }),
      iceState.map((state) => ({ kind: "ice" as const, state })),
      reason.map((r) => ({ kind: "local_hangup" as const, reason: r })),
      reason.map((r) => ({ kind: "failure" as const, reason: r })),
    );
    fc.assert(
      fc.property(party, fc.boolean(), fc.array(input, { maxLength: 30 }), (caller, v1, inputs) => {
        let c = initialInboundContext(caller, v1);
        let terminated = 0;
        for (const i of inputs) {
          const wasEnded = c.state === CallState.Ended;
          const t = inboundTransition(c, i);
          if (wasEnded) expect(t.actions).toEqual([]);
          for (const a of t.actions) {
            if (a.kind === "terminate") terminated++;
            if (a.kind === "send_hangup" || a.kind === "decline") expect(HANGUP_REASONS.has(a.reason)).toBe(true);
          }
          c = t.next;
        }
        expect(terminated).toBe(c.state === CallState.Ended ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  });
});
