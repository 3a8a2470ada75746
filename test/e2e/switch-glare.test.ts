/**
 * `!switch <camera>` during a call the bot placed, and glare (the bot and the person calling each other at the same
 * moment), end to end on real parts: a real Synapse, two GStreamer RTSP cameras (SMPTE bars and solid red) told apart
 * in the decoded frames, the bot in-process, and matrix-js-sdk on the person's side (callee and caller).
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { CallState } from "../../src/call/state.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import type { Callee } from "../harness/callee.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { classify } from "../harness/frame-colour.ts";
import type { Caller, OutgoingCall } from "../harness/js-caller.ts";
import { harnessLog } from "../harness/log.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import { validateCallEvent } from "../harness/spec-validator.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

let rig: Rig;
let app: App;
let bot: RegisteredUser;
let callee: Callee;
let caller: Caller;
let aliceDm: string;
let bobDm: string;
let logFile: string;

/** The bot's m.call.* events that bob's client saw in his DM. */
function botCallEventsForBob(callId?: string): { type: string; content: Record<string, unknown> }[] {
  const events = caller.client.getRoom(bobDm)?.getLiveTimeline().getEvents() ?? [];
  return events
    .filter(
      (e) =>
        e.getSender() === bot.userId && e.getType().startsWith("m.call.") && (callId === undefined || e.getContent()["call_id"] === callId),
    )
    .map((e) => ({ type: e.getType(), content: e.getContent<Record<string, unknown>>() }));
}

/** Bob's calls (either direction) that have not ended, as matrix-js-sdk's call event handler knows them. */
function bobsLiveCalls(): string[] {
  const calls: Map<string, { state: string; callId: string }> =
    caller.client.callEventHandler?.calls ?? new Map<string, { state: string; callId: string }>();
  return [...calls.values()].filter((c) => c.state !== "ended").map((c) => c.callId);
}

/** Exactly one call between bob and the bot, connected on both sides and the same call. */
async function exactlyOneConnectedCall(call: OutgoingCall): Promise<{ callId: string; direction: string }> {
  return waitFor(
    "exactly one connected call between bob and the bot",
    () => {
      const session = app.calls.callInRoom(bobDm);
      const live = call.live();
      const liveCalls = bobsLiveCalls();
      if (app.calls.activeCount() !== 1 || session?.state !== CallState.Connected) return undefined;
      if ((live.state as string) !== "connected" || live.callId !== session.callId) return undefined;
      if (liveCalls.length !== 1 || liveCalls[0] !== session.callId) return undefined;
      return { callId: session.callId, direction: session.direction };
    },
    { timeoutMs: 20_000 },
  );
}

async function endBobsCalls(call: OutgoingCall): Promise<void> {
  call.hangup();
  await rig.releasedEverything();
  await waitFor("bob's calls to end", () => bobsLiveCalls().length === 0, { timeoutMs: 10_000 });
}

beforeAll(async () => {
  rig = await startRig({
    name: "switch-glare",
    cameras: {
      bars: { width: 640, height: 360, fps: 15, audio: "pcma", pattern: "smpte", path: "bars" },
      red: { width: 640, height: 360, fps: 15, audio: "pcma", pattern: "red", path: "red" },
    },
    users: ["alice", { name: "bob", as: "caller" }],
    config: ({ cameras }) => ({
      cameras: [
        { name: "bars", url: cameras["bars"]?.url },
        { name: "red", url: cameras["red"]?.url },
      ],
      // Every glare round, bob starts two calls (his !call and his own call to the bot) within a second.
      calls: { maxPerUserPerMinute: 100 },
    }),
  });
  ({ app, bot, logFile } = rig);
  callee = rig.callee("alice");
  caller = rig.caller("bob");
  aliceDm = rig.dm("alice");
  bobDm = rig.dm("bob");
}, 180_000);

afterAll(async () => {
  await rig.stop();
});

describeE2E("!switch during a call the bot placed", () => {
  it("changes the decoded picture on the same call, without renegotiation, and releases the old camera", async () => {
    const call = await rig.ring("alice", "bars", 20_000);
    await call.answer();
    await call.waitForFrames(10);
    await waitFor("the bars in alice's frames", () => classify(call.lastFrame()) === "bars");
    const eventsBefore = callee.callEvents(aliceDm).length;

    await callee.client.sendTextMessage(aliceDm, "!switch red");
    await waitFor("the red camera in alice's frames", () => classify(call.lastFrame()) === "red", { timeoutMs: 20_000 });
    await waitFor("the confirmation", () => callee.messages(aliceDm, bot.userId).includes("Now showing red."));
    // Same call, still up; nothing but late candidates was signalled; the old camera is let go.
    expect(call.isEnded()).toBe(false);
    expect(app.calls.callInRoom(aliceDm)?.callId).toBe(call.callId);
    expect(
      callee
        .callEvents(aliceDm)
        .slice(eventsBefore)
        .filter((e) => e.sender === bot.userId && e.type !== "m.call.candidates"),
    ).toEqual([]);
    await waitFor("the bars pipeline to stop (no lease left)", () => app.hub.stats()["bars"]?.leases === 0 && liveFfmpegCount() === 1);
    const frames = call.video().frames;
    await call.waitForFrames(frames + 20);
    expect(classify(call.lastFrame())).toBe("red");

    await callee.client.sendTextMessage(aliceDm, "!switch red");
    await waitFor("the same-camera answer", () => callee.messages(aliceDm, bot.userId).includes("The call already shows red."));
    await callee.client.sendTextMessage(aliceDm, "!switch");
    await waitFor("the question", () =>
      callee.messages(aliceDm, bot.userId).some((m) => m.startsWith("Which camera? Type !switch <camera>.")),
    );

    call.hangup();
    await rig.releasedEverything();
  });
});

describeE2E("glare: the bot and the person call each other", () => {
  it("their invite arrives while ours rings and has the lesser call ID: ours is hung up, theirs answered", async () => {
    let ours = "";
    const call = await caller.placeVideoCall(bobDm, {
      invitee: bot.userId,
      // Their call ID is fixed first (the lesser); then the bot's call is placed and rings at bob's before his is
      // placed, so only the bot sees glare (matrix-js-sdk checks for it only when an invite arrives).
      beforePlace: async (theirs) => {
        await caller.client.sendTextMessage(bobDm, "!call bars");
        const session = await waitFor("the bot's call to ring", () => {
          const s = app.calls.callInRoom(bobDm);
          return s?.state === CallState.Ringing ? s : undefined;
        });
        ours = session.callId;
        expect(theirs < ours).toBe(true);
        await waitFor(
          "the bot's call to ring at bob's",
          () => (caller.client.callEventHandler?.calls.get(ours)?.state as string | undefined) === "ringing",
        );
      },
    });
    const winner = await exactlyOneConnectedCall(call);
    expect(winner).toEqual({ callId: call.callId, direction: "incoming" });
    await call.waitForFrames(call.video().frames + 10);
    // Ours was hung up (the spec has no "replaced" reason: user_hangup), after its invite.
    expect(
      botCallEventsForBob(ours)
        .map((e) => [e.type, e.content["reason"]])
        .filter(([t]) => t !== "m.call.candidates"),
    ).toEqual([
      ["m.call.invite", undefined],
      ["m.call.hangup", "user_hangup"],
    ]);
    expect(readFileSync(logFile, "utf8")).toContain("glare: their call wins, ours is abandoned");
    await endBobsCalls(call);
  });

  it("at (nearly) the same moment, either side first: each round ends with exactly one connected call, as the rule picks", async () => {
    const glareLine = (theirs: string): { ours: string; why: string; msg: string } | undefined => {
      const line = readFileSync(logFile, "utf8")
        .split("\n")
        .find((l) => l.includes(`"call":"${theirs}"`) && l.includes('"msg":"glare:'));
      return line === undefined ? undefined : (JSON.parse(line) as { ours: string; why: string; msg: string });
    };
    const outcomes: string[] = [];
    // Even rounds: bob's call is created as he sends !call (his call ID is the lesser). Odd rounds: bob places his
    // call as soon as the bot's call exists (the bot's ID is the lesser), while the bot still prepares its invite.
    const starts: (() => Promise<OutgoingCall>)[] = [
      async () =>
        (await Promise.all([caller.client.sendTextMessage(bobDm, "!call bars"), caller.placeVideoCall(bobDm, { invitee: bot.userId })]))[1],
      async () => {
        await caller.client.sendTextMessage(bobDm, "!call bars");
        await waitFor("the bot's call to exist", () => app.calls.callInRoom(bobDm), { intervalMs: 5 });
        return caller.placeVideoCall(bobDm, { invitee: bot.userId });
      },
    ];
    for (let round = 0; round < 4; round++) {
      const start = starts[round % 2];
      if (start === undefined) throw new Error("no start");
      const call = await start();
      const winner = await exactlyOneConnectedCall(call);
      await call.waitForFrames(call.video().frames + 10);
      // How the bot decided on bob's invite (its log), if it saw glare at all: bob's client may have settled it first.
      const glare = glareLine(call.callId);
      if (winner.direction === "incoming") {
        // Bob's call won: the bot's was still being prepared (never sent), or had the greater call ID.
        expect(winner.callId).toBe(call.callId);
        if (glare !== undefined) expect(glare.why === "ours was still being prepared" || glare.ours > call.callId).toBe(true);
      } else {
        // The bot's call won: it has the lesser call ID, and bob's side answered it instead of its own.
        expect(winner.callId < call.callId).toBe(true);
        if (glare !== undefined) expect(glare.msg).toBe("glare: our call wins, theirs is ignored");
      }
      outcomes.push(`${winner.direction} won: ${glare?.why ?? "settled by bob's client"}`);
      await endBobsCalls(call);
    }
    harnessLog.info({ outcomes }, "glare rounds");
    expect(outcomes).toHaveLength(4);
  });

  it("every call event the bot sent validates against the spec's schemas", () => {
    const sent = [...botCallEventsForBob(), ...callee.callEvents(aliceDm).filter((e) => e.sender === bot.userId)];
    expect(sent.length).toBeGreaterThan(5);
    for (const e of sent)
      expect(validateCallEvent(e.type, e.content).errors, `${e.type} ${JSON.stringify(e.content).slice(0, 160)}`).toEqual([]);
  });
});
