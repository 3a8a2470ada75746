/**
 * Fuzzing for real, through Synapse (fast-check samples with fixed seeds, so a failure can be replayed): 200 fuzzed
 * m.call.* events from the callee's own account into a live call the bot placed, and a sample of fuzzed chat
 * commands. The call must come through untouched (video flowing, no state change), every malformed event must be
 * logged, every event the bot sent must still be spec-valid, every command must get exactly one reply, and nothing
 * may reject unhandled.
 *
 * The fuzzed events never carry the party ID of the callee's device (whose hangup would rightly end the call). Once
 * the call is up, the callee's matrix-js-sdk client stops listening to the call's signalling (the call is taken out
 * of its CallEventHandler; its peer connection and media go on): js-sdk acts on hangups, select_answers and
 * negotiates whoever sends them, so it would end its own side on a fuzzed event the bot rightly ignores. That js-sdk
 * behaviour is the callee's client's (see the README); here only the bot is under test.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { CallState } from "../../src/call/state.ts";
import { answerSchema, CallEventType, candidatesSchema, hangupSchema, rejectSchema } from "../../src/call/wire.ts";
import { parseCommand } from "../../src/matrix/commands.ts";
import type { Callee } from "../harness/callee.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { reportFigure } from "../harness/figures.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import { validateCallEvent } from "../harness/spec-validator.ts";
import type { RegisteredUser, SynapseHandle } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

/** The bot's own schemas for the events its calls use (version 0, placed by the bot). */
const SCHEMAS: Record<string, { safeParse(v: unknown): { success: boolean } }> = {
  "m.call.answer": answerSchema,
  "m.call.candidates": candidatesSchema,
  "m.call.hangup": hangupSchema,
  "m.call.reject": rejectSchema,
};
/** Every call event type the spec has, and one it does not. */
const TYPES = [...Object.values(CallEventType), "m.call.fuzz"];
let rig: Rig;
let synapse: SynapseHandle;
let app: App;
let bot: RegisteredUser;
let alice: RegisteredUser;
let callee: Callee;
let dm: string;
let logFile: string;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

/** JSON as Synapse takes it in events: integers (canonical JSON has no floats), any Unicode text. */
const leaf = fc.oneof(
  fc.boolean(),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constant(null),
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("json"), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie("json"), { maxKeys: 4 }),
  ),
}));
const text = fc.oneof(fc.string({ unit: "grapheme", maxLength: 30 }), fc.constant(""));
const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: arb }, fc.constant(undefined), json);
const LIVE = "$LIVE";
const contentArb = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        call_id: fc.oneof({ weight: 3, arbitrary: fc.constant(LIVE) }, text, json),
        version: fc.oneof(fc.constant(0), fc.constant("1"), text, json),
        party_id: maybe(fc.string({ minLength: 1, maxLength: 20 }).map((s) => `fuzz-${s}`)),
        answer: maybe(fc.record({ type: fc.oneof(fc.constant("answer"), text), sdp: fc.oneof(text, fc.constant("v=0\r\n")) })),
        offer: maybe(fc.record({ type: fc.oneof(fc.constant("offer"), text), sdp: text })),
        candidates: maybe(
          fc.array(
            fc.record(
              { candidate: maybe(text), sdpMid: maybe(text), sdpMLineIndex: maybe(fc.integer({ min: -1, max: 2 })) },
              { requiredKeys: [] },
            ),
            { maxLength: 4 },
          ),
        ),
        reason: maybe(text),
        lifetime: maybe(fc.integer()),
        invitee: maybe(text),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 12 }), json, { maxKeys: 6 }) },
);
const eventArb = fc.record({ type: fc.constantFrom(...TYPES), content: contentArb });

const logLines = (msg: string): number => readFileSync(logFile, "utf8").split(`"msg":"${msg}"`).length - 1;

let txn = 0;

/** Sends an event as alice with the plain client-server API (no client library in between); false when refused. */
async function sendRaw(type: string, content: unknown): Promise<boolean> {
  const url = `${synapse.baseUrl}/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/send/${encodeURIComponent(type)}/fuzz${Date.now()}-${txn++}`;
  const res = await fetch(url, {
    method: "PUT",
    headers: { authorization: `Bearer ${alice.accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(content),
  });
  await res.body?.cancel();
  return res.ok;
}

/** Resolves once the bot's client has seen a message with this body. */
function botSees(body: string): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (_room: string, event: { content?: { body?: unknown } }): void => {
      if (event.content?.body !== body) return;
      app.matrix.client.off("room.message", onMessage);
      resolve();
    };
    app.matrix.client.on("room.message", onMessage);
  });
}

function botSays(): string[] {
  return callee.messages(dm, bot.userId);
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  rig = await startRig({
    name: "fuzz-live",
    botName: "fuzzbot",
    cameras: { cam: { width: 640, height: 360, fps: 15, audio: "pcma" } },
    users: ["alice"],
    config: ({ cameras }) => ({
      cameras: [{ name: "cam", url: cameras["cam"]?.url, maxWidth: 640, maxHeight: 360 }],
      calls: { maxPerUserPerMinute: 1000 },
    }),
  });
  ({ synapse, app, bot, logFile } = rig);
  alice = rig.user("alice");
  callee = rig.callee("alice");
  dm = rig.dm("alice");
}, 180_000);

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  await rig.stop();
});

describeE2E("fuzzing through Synapse", () => {
  it("200 fuzzed call events into a live call: the call comes through untouched, each malformed one is logged", async () => {
    const call = await rig.ring("alice", "cam");
    await call.answer();
    await call.waitForFrames(15, 20_000);
    const session = app.calls.callInRoom(dm);
    expect(session?.state).toBe(CallState.Connected);
    const malformedBefore = logLines("malformed call event ignored");
    const framesBefore = call.video().frames;
    const started = Date.now();

    const events = fc.sample(eventArb, { numRuns: 200, seed: 4711 });
    let accepted = 0;
    let malformedExpected = 0;
    let refused = 0;
    // See the header: from here the callee's client leaves the call's signalling alone.
    callee.client.callEventHandler?.calls.delete(call.callId);
    for (const { type, content } of events) {
      const live = content["call_id"] === LIVE;
      const body: Record<string, unknown> = live ? { ...content, call_id: call.callId } : content;
      if (!(await sendRaw(type, body))) {
        refused++;
        continue;
      }
      accepted++;
      // What the bot's own schemas refuse, among the events its call uses, it must log as malformed.
      if (live && SCHEMAS[type]?.safeParse(body).success === false) malformedExpected++;
    }
    // A last message through the same sync: once the bot sees it, it has handled every fuzzed event before it.
    const seen = botSees("fuzz done");
    await callee.client.sendTextMessage(dm, "fuzz done");
    await seen;
    const malformed = logLines("malformed call event ignored") - malformedBefore;

    const fuzzFps = ((call.video().frames - framesBefore) * 1000) / (Date.now() - started);
    // The video afterwards, over three seconds.
    const after = { at: Date.now(), frames: call.video().frames };
    await waitFor("three more seconds of video", () => Date.now() - after.at >= 3000 && call.video().frames);
    const afterFps = ((call.video().frames - after.frames) * 1000) / (Date.now() - after.at);
    reportFigure("fuzz: live call under 200 fuzzed call events", {
      accepted,
      refusedBySynapse: refused,
      malformedLogged: malformed,
      fpsDuringFuzz: fuzzFps,
      fpsAfter: afterFps,
    });
    expect(accepted).toBeGreaterThan(150);
    expect(malformed).toBe(malformedExpected);
    expect(malformed).toBeGreaterThan(5);
    expect(call.isEnded()).toBe(false);
    expect(app.calls.callInRoom(dm)).toBe(session);
    expect(session?.state).toBe(CallState.Connected);
    expect(fuzzFps).toBeGreaterThan(5);
    expect(afterFps).toBeGreaterThan(12);
    for (const e of callee.callEvents(dm).filter((ev) => ev.sender === bot.userId)) {
      expect(validateCallEvent(e.type, e.content).errors, `${e.type} ${JSON.stringify(e.content).slice(0, 200)}`).toEqual([]);
    }
    call.hangup();
    await waitFor("the call released", () => app.calls.activeCount() === 0, { timeoutMs: 10_000 });
    expect(unhandled).toEqual([]);
  }, 240_000);

  it("fuzzed chat commands: exactly one reply for each command, none for anything else, no call started", async () => {
    const word = fc.constantFrom("call", "CALL", "switch", "hangup", "stop", "help", "status", "cameras", "list", "", "x", "ｃａｌｌ");
    const bodies = fc
      .sample(
        fc.oneof(
          fc
            .tuple(
              fc.constantFrom("!", " !", "!!", "\t!"),
              word,
              fc.array(fc.string({ unit: "grapheme", maxLength: 40 }), { maxLength: 3 }),
            )
            .map(([p, w, args]) => [p + w, ...args].join(" ")),
          fc.string({ unit: "grapheme", maxLength: 80 }),
          fc.string({ minLength: 4100, maxLength: 4200 }).map((s) => `!help ${s}`),
        ),
        { numRuns: 60, seed: 815 },
      )
      .filter((b) => {
        const c = parseCommand(b);
        // A real camera would ring the callee: that is the call path's test, not this one.
        return !((c?.kind === "call" || c?.kind === "switch") && c.camera === "cam");
      });
    const expected = bodies.filter((b) => b.length <= 4096 && parseCommand(b) !== undefined).length;
    const before = botSays().length;
    for (const body of bodies) await callee.client.sendTextMessage(dm, body);
    // A marker command last: its reply comes after every other reply.
    await callee.client.sendTextMessage(dm, "!cameras");
    await waitFor("the reply to the marker", () => botSays().length >= before + expected + 1 && botSays().at(-1)?.startsWith("Cameras:"), {
      timeoutMs: 60_000,
    });
    expect(botSays().length - before).toBe(expected + 1);
    reportFigure("fuzz: chat commands", { sent: bodies.length, commands: expected });
    expect(app.calls.activeCount()).toBe(0);
    expect(callee.callEvents(dm).filter((e) => e.type === "m.call.invite" && e.sender === bot.userId).length).toBe(1);
    expect(unhandled).toEqual([]);
  }, 180_000);
});
