/**
 * Calls placed TO the bot, end to end on real parts: a real Synapse, two GStreamer RTSP cameras (SMPTE bars and
 * solid red), the bot in-process from a real YAML config, and matrix-js-sdk placing the call the way Element Web does
 * (createNewMatrixCall + placeVideoCall, version "1" with a party_id).
 */
import { readFileSync } from "node:fs";
import type { MatrixClient } from "matrix-js-sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { createDirectRoom } from "../harness/dm.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { classify } from "../harness/frame-colour.ts";
import { ownVideoSent } from "../harness/remote-video.ts";
import { startCaller, type Caller } from "../harness/js-caller.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import { validateCallEvent } from "../harness/spec-validator.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

let rig: Rig;
let app: App;
let bot: RegisteredUser;
let alice: RegisteredUser;
let mallory: RegisteredUser;
let caller: Caller;
let dm: string;
let logFile: string;

interface Seen {
  type: string;
  sender: string;
  content: Record<string, unknown>;
}

/** The m.call.* and m.room.message events a js-sdk client has seen in a room, in order. */
function timeline(client: MatrixClient, roomId: string): Seen[] {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.map((e) => ({ type: e.getType(), sender: e.getSender() ?? "", content: e.getContent<Record<string, unknown>>() }));
}

function botCallEvents(client: MatrixClient, roomId: string, callId?: string): Seen[] {
  return timeline(client, roomId).filter(
    (e) => e.sender === bot.userId && e.type.startsWith("m.call.") && (callId === undefined || e.content["call_id"] === callId),
  );
}

function botNotices(client: MatrixClient, roomId: string): string[] {
  return timeline(client, roomId)
    .filter((e) => e.sender === bot.userId && e.type === "m.room.message")
    .map((e) => String(e.content["body"]));
}

async function say(client: MatrixClient, roomId: string, text: string): Promise<void> {
  await client.sendTextMessage(roomId, text);
}

beforeAll(async () => {
  rig = await startRig({
    name: "inbound",
    cameras: {
      bars: { width: 640, height: 360, fps: 15, audio: "pcma", pattern: "smpte", path: "bars" },
      red: { width: 640, height: 360, fps: 15, audio: "pcma", pattern: "red", path: "red" },
    },
    users: [
      { name: "alice", as: "caller" },
      { name: "mallory", as: "none" },
    ],
    config: ({ cameras, users }) => ({
      allowedUsers: [users["alice"]?.userId],
      cameras: [
        { name: "bars", url: cameras["bars"]?.url },
        { name: "red", url: cameras["red"]?.url },
      ],
      calls: { defaultCamera: "red" },
    }),
  });
  ({ app, bot, logFile } = rig);
  alice = rig.user("alice");
  mallory = rig.user("mallory");
  caller = rig.caller("alice");
  dm = rig.dm("alice");
}, 180_000);

afterAll(async () => {
  await rig.stop();
});

describeE2E("a call placed to the bot", () => {
  it("is answered with the default camera; hold, resume and an ICE restart are renegotiated; !switch; the caller hangs up", async () => {
    // As Element places it: version "1", a party_id, no invitee.
    const call = await caller.placeVideoCall(dm);
    await call.connected();
    await call.waitForFrames(20);
    await waitFor("the default camera (red) in the caller's frames", () => classify(call.lastFrame()) === "red");
    // The caller's camera (a synthetic one, 15 fps) is not sent to the bot: it answers its video sendonly; the audio
    // goes both ways, so js-sdk does not read the call as held.
    expect(await ownVideoSent(call.call)).toEqual({ direction: "recvonly", bytesSent: 0 });
    expect(call.call.isLocalOnHold()).toBe(false);
    const session = app.calls.callInRoom(dm);
    expect(session?.direction).toBe("incoming");
    expect(session?.callId).toBe(call.callId);
    expect(session?.camera).toBe("red");

    // Hold and resume: matrix-js-sdk sends m.call.negotiate offers; the bot answers each with a negotiate answer.
    const sdk = call.live();
    const negotiateAnswers = (): Seen[] => botCallEvents(caller.client, dm, call.callId).filter((e) => e.type === "m.call.negotiate");
    const sdpOf = (e: Seen | undefined): string => String((e?.content["description"] as { sdp?: unknown } | undefined)?.sdp);
    sdk.setRemoteOnHold(true);
    const held = await waitFor("the bot's answer to the hold", () => negotiateAnswers()[0]);
    // Held (their side sendonly): the bot's answer only receives, so no media goes to a held call.
    expect(sdpOf(held)).toContain("a=recvonly");
    expect(sdpOf(held)).not.toContain("a=sendrecv");
    sdk.setRemoteOnHold(false);
    const resumed = await waitFor("the bot's answer to the resume", () => negotiateAnswers()[1]);
    expect(sdpOf(resumed)).toContain("a=sendrecv");
    await call.waitForFrames(call.video().frames + 20);
    expect(await ownVideoSent(call.call)).toEqual({ direction: "recvonly", bytesSent: 0 });

    // An ICE restart (what matrix-js-sdk does when ICE fails): new credentials in a third negotiate answer.
    sdk.peerConn?.restartIce();
    const restarted = await waitFor("the bot's answer to the ICE restart", () => negotiateAnswers()[2]);
    const ufrag = (e: Seen | undefined): string | undefined => /a=ice-ufrag:(\S+)/.exec(sdpOf(e))?.[1];
    expect(ufrag(restarted)).toEqual(expect.any(String));
    expect(ufrag(restarted)).not.toBe(ufrag(resumed));
    await call.waitForFrames(call.video().frames + 20);
    expect(sdk.state).toBe("connected");

    // !switch: the picture changes without renegotiation.
    const eventsBefore = botCallEvents(caller.client, dm, call.callId).length;
    await say(caller.client, dm, "!switch bars");
    await waitFor("the bars camera in the caller's frames", () => classify(call.lastFrame()) === "bars", { timeoutMs: 20_000 });
    await waitFor("the bot's confirmation", () => botNotices(caller.client, dm).includes("Now showing bars."));
    expect(app.calls.callInRoom(dm)?.camera).toBe("bars");
    const afterSwitch = botCallEvents(caller.client, dm, call.callId).slice(eventsBefore);
    expect(afterSwitch.filter((e) => e.type !== "m.call.candidates")).toEqual([]);
    await say(caller.client, dm, "!switch garage");
    await waitFor("the list of cameras", () =>
      botNotices(caller.client, dm).some((n) => n.startsWith('Unknown camera "garage"') && n.includes("bars, red")),
    );

    call.hangup();
    await rig.releasedEverything();
    expect(app.hub.stats()["red"]?.leases).toBe(0);
    expect(app.hub.stats()["bars"]?.leases).toBe(0);
  });

  it("a select_answer naming another party ends the bot's side silently (answered elsewhere)", async () => {
    const call = await caller.placeVideoCall(dm, { invitee: bot.userId });
    await call.connected();
    await call.waitForFrames(5);
    await caller.client.sendEvent(
      dm,
      "m.call.select_answer" as never,
      {
        call_id: call.callId,
        version: "1",
        party_id: alice.deviceId,
        selected_party_id: "ANOTHERDEVICE",
      } as never,
    );
    await rig.releasedEverything();
    expect(botCallEvents(caller.client, dm, call.callId).filter((e) => e.type === "m.call.hangup")).toEqual([]);
    expect(readFileSync(logFile, "utf8")).toMatch(new RegExp(`"call":"${call.callId}".*"reason":"answered_elsewhere"`));
    call.hangup();
    await call.ended();
  });

  it("!hangup ends a call placed to the bot: the caller sees the bot hang up", async () => {
    const call = await caller.placeVideoCall(dm);
    await call.connected();
    await call.waitForFrames(5);
    await say(caller.client, dm, "!hangup");
    expect(await call.ended()).toEqual({ hangupReason: "user_hangup", hangupParty: "remote" });
    await rig.releasedEverything();
  });

  it("!switch without a call says so", async () => {
    await say(caller.client, dm, "!switch bars");
    await waitFor("the bot's answer", () => botNotices(caller.client, dm).some((n) => n.startsWith("There is no call in progress here.")));
    expect(app.calls.activeCount()).toBe(0);
  });

  it("a stranger's call is ignored: nothing is sent, no camera starts, a log line says why", async () => {
    // A two-member room of the bot and the stranger: alice makes it, invites both, and leaves.
    const stranger = await startCaller({ ...mallory, baseUrl: rig.synapse.baseUrl });
    try {
      const room = await createDirectRoom(caller.client, [bot.userId, mallory.userId]);
      await stranger.client.joinRoom(room);
      await waitFor("bot and stranger joined", () => caller.client.getRoom(room)?.getJoinedMemberCount() === 3, { timeoutMs: 20_000 });

      // First, alice calls the bot there: three members fail the room check, so the bot says why and declines.
      const refused = await caller.placeVideoCall(room, { invitee: bot.userId });
      expect(await refused.ended()).toMatchObject({ hangupParty: "remote" });
      const declined = botCallEvents(caller.client, room);
      expect(declined.map((e) => e.type)).toEqual(["m.call.reject"]);
      expect(validateCallEvent("m.call.reject", declined[0]?.content).errors).toEqual([]);
      expect(declined[0]?.content).toMatchObject({ call_id: refused.callId, version: "1", party_id: app.calls.partyId });
      await waitFor("the bot's reason", () => botNotices(caller.client, room).some((n) => n.startsWith("I can't answer calls here:")));
      expect(liveFfmpegCount()).toBe(0);

      await caller.client.leave(room);
      await waitFor("the stranger to see two members", () => stranger.client.getRoom(room)?.getJoinedMemberCount() === 2, {
        timeoutMs: 20_000,
      });

      const call = await stranger.placeVideoCall(room, { invitee: bot.userId });
      await waitFor("the bot's log line about the stranger's call", () => {
        const line = readFileSync(logFile, "utf8")
          .split("\n")
          .find((l) => l.includes(call.callId) && l.includes("not allowed"));
        return line;
      });
      expect(botCallEvents(stranger.client, room, call.callId)).toEqual([]);
      expect(app.calls.activeCount()).toBe(0);
      expect(liveFfmpegCount()).toBe(0);
      expect(call.isEnded()).toBe(false);
      call.hangup();
      await call.ended();
    } finally {
      await stranger.stop();
    }
  });

  it("sends only spec-valid version 1 events with its one party_id, ending its candidates with end-of-candidates", () => {
    const sent = botCallEvents(caller.client, dm);
    const types = new Set(sent.map((e) => e.type));
    expect([...types].sort()).toEqual(["m.call.answer", "m.call.candidates", "m.call.hangup", "m.call.negotiate"]);
    for (const e of sent) {
      expect(validateCallEvent(e.type, e.content).errors, `${e.type} ${JSON.stringify(e.content).slice(0, 200)}`).toEqual([]);
      expect(e.content["version"]).toBe("1");
      expect(e.content["party_id"]).toBe(app.calls.partyId);
    }
    for (const e of sent.filter((x) => x.type === "m.call.negotiate")) {
      expect(e.content["description"]).toMatchObject({ type: "answer" });
      expect(e.content["lifetime"]).toEqual(expect.any(Number));
    }
    const candidates = sent
      .filter((e) => e.type === "m.call.candidates")
      .flatMap((e) => e.content["candidates"] as { candidate: string }[]);
    expect(candidates.some((c) => c.candidate === "")).toBe(true);
  });
});
