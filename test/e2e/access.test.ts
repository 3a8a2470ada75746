/**
 * Who may do what, end to end on real parts (Synapse, a GStreamer RTSP camera, the demo camera, the bot in-process,
 * matrix-js-sdk users): a camera's own allowedUsers (!cameras, !help, !call, !switch and a call to the bot showing
 * the default camera), and a call belongs to its party (another allowed member of the room can neither end it nor
 * switch its camera, and !status shows them only a count of it); the third-member notice goes out once per newcomer;
 * the bot leaves a room once nobody else is in it.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { CallState } from "../../src/call/state.ts";
import type { Callee } from "../harness/callee.ts";
import { openDirectChat } from "../harness/dm.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import type { Caller } from "../harness/js-caller.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

let rig: Rig;
let app: App;
let bot: RegisteredUser;
/** May use every camera. */
let alice: Callee;
/** Allowed, but not on "cam": only "yard". */
let bob: Callee;
/** As bob; calls the bot, whose default camera is "cam". */
let carol: Caller;
let aliceDm: string;
let bobDm: string;
let carolDm: string;

/** The bot's text messages in a room, as `client` sees them. */
function botSays(client: Callee["client"], roomId: string): string[] {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.filter((e) => e.getSender() === bot.userId && e.getType() === "m.room.message").map((e) => String(e.getContent()["body"]));
}

/** Sends `body` as `client` and waits for the bot's next message in the room after it. */
async function ask(client: Callee["client"], roomId: string, body: string, what: string): Promise<string> {
  const before = botSays(client, roomId).length;
  await client.sendTextMessage(roomId, body);
  return waitFor(what, () => botSays(client, roomId)[before], { timeoutMs: 20_000 });
}

beforeAll(async () => {
  rig = await startRig({
    name: "access",
    botName: "accessbot",
    cameras: { cam: { width: 320, height: 240, fps: 15, audio: "pcma" } },
    users: ["alice", "bob", { name: "carol", as: "caller" }],
    logLevel: process.env["TEST_LOG_LEVEL"] ?? "silent",
    config: ({ cameras, users }) => ({
      cameras: [
        { name: "cam", url: cameras["cam"]?.url, maxWidth: 320, maxHeight: 240, allowedUsers: [users["alice"]?.userId] },
        { name: "yard", url: "demo://clock", maxWidth: 160, maxHeight: 120, maxFps: 10, audio: false },
      ],
      calls: { defaultCamera: "cam", maxPerUserPerMinute: 100 },
    }),
  });
  ({ app, bot } = rig);
  alice = rig.callee("alice");
  bob = rig.callee("bob");
  carol = rig.caller("carol");
  aliceDm = rig.dm("alice");
  bobDm = rig.dm("bob");
  carolDm = rig.dm("carol");
}, 180_000);

afterAll(async () => {
  await rig.stop();
});

describeE2E("a camera's allowedUsers", () => {
  it("!cameras and !help name only the cameras the sender may use", async () => {
    expect(await ask(bob.client, bobDm, "!cameras", "bob's list")).toBe("Cameras:\n• yard");
    expect(await ask(alice.client, aliceDm, "!cameras", "alice's list")).toBe("Cameras:\n• cam\n• yard");
    expect((await ask(bob.client, bobDm, "!help", "bob's help")).split("\n").at(-1)).toBe("Cameras: yard");
  });

  it("!call and !switch to a camera the sender may not use: answered as an unknown camera, no call, no switch", async () => {
    expect(await ask(bob.client, bobDm, "!call cam", "the refusal")).toBe('Unknown camera "cam". Cameras: yard');
    expect(app.calls.activeCount()).toBe(0);
    expect(app.hub.stats()["cam"]?.leases).toBe(0);

    const call = await rig.ring("bob", "yard");
    await call.answer();
    await call.waitForFrames(5, 20_000);
    expect(await ask(bob.client, bobDm, "!switch cam", "the refusal")).toBe('Unknown camera "cam". Cameras: yard');
    expect(app.calls.callInRoom(bobDm)?.camera).toBe("yard");
    expect(app.hub.stats()["cam"]?.leases).toBe(0);
    call.hangup();
    await rig.released();
  }, 90_000);

  it("a call to the bot, whose default camera the caller may not use, is declined with the reason", async () => {
    const placed = await carol.placeVideoCall(carolDm, { invitee: bot.userId });
    await placed.ended();
    const events = carol.client.getRoom(carolDm)?.getLiveTimeline().getEvents() ?? [];
    expect(
      events.some((e) => e.getSender() === bot.userId && e.getType() === "m.call.reject" && e.getContent()["call_id"] === placed.callId),
    ).toBe(true);
    await waitFor("the reason", () =>
      botSays(carol.client, carolDm).some((t) => t.startsWith("I can't answer calls here: a call to me shows a camera you may not use.")),
    );
    expect(app.hub.stats()["cam"]?.leases).toBe(0);
    expect(app.calls.activeCount()).toBe(0);
  }, 60_000);
});

describeE2E("a call is its party's", () => {
  it("another allowed member of the room cannot end it or switch it, and !status shows them only a count", async () => {
    const call = await rig.ring("alice", "cam");
    await call.answer();
    await call.waitForFrames(10, 20_000);
    const session = app.calls.callInRoom(aliceDm);
    const joinedNotice = (t: string): boolean => t.startsWith(`${bob.userId} joined this room during the call`);
    await alice.client.invite(aliceDm, bob.userId);
    await waitFor("the third-member notice", () => botSays(alice.client, aliceDm).some(joinedNotice), { timeoutMs: 20_000 });
    // In bob's timeline too: ask() takes the bot's next message there as the reply (under load bob's client synced the
    // notice after his !hangup went out, and it was read as the reply).
    await waitFor("the notice in bob's client", () => botSays(bob.client, aliceDm).some(joinedNotice), { timeoutMs: 20_000 });

    const notYours = "The call in progress here is not yours: only the person it connects can end it or switch its camera.";
    expect(await ask(bob.client, aliceDm, "!hangup", "the reply to bob's !hangup")).toBe(notYours);
    expect(await ask(bob.client, aliceDm, "!switch yard", "the reply to bob's !switch")).toBe(notYours);
    const status = await ask(bob.client, aliceDm, "!status", "bob's status");
    expect(status.split("\n")[0]).toBe("Calls in progress: 1 (none of them yours)");
    expect(status).not.toContain(alice.userId);
    expect(status).toMatch(/^Cameras: yard [a-z]+$/m);
    const frames = call.video().frames;
    await call.waitForFrames(frames + 15, 10_000);
    expect(session?.state).toBe(CallState.Connected);
    expect(session?.camera).toBe("cam");
    expect(call.isEnded()).toBe(false);

    // Her own !status shows her call in full.
    expect(await ask(alice.client, aliceDm, "!status", "alice's status")).toMatch(new RegExp(`^  cam → ${alice.userId}: [\\d.]+ fps`, "m"));

    // Bob leaves and comes back during the same call: the room was already told about him.
    await bob.client.leave(aliceDm);
    await waitFor("bob gone", async () => Object.keys((await alice.client.getJoinedRoomMembers(aliceDm)).joined).length === 2);
    await alice.client.invite(aliceDm, bob.userId);
    await waitFor("bob back", async () => Object.keys((await alice.client.getJoinedRoomMembers(aliceDm)).joined).length === 3);
    // A command after his join: the bot has handled the join by the time it answers.
    await ask(alice.client, aliceDm, "!help", "the help");
    expect(botSays(alice.client, aliceDm).filter(joinedNotice)).toHaveLength(1);

    await alice.client.sendTextMessage(aliceDm, "!hangup");
    expect(await call.ended()).toEqual({ hangupReason: "user_hangup", hangupParty: "remote" });
    await rig.released();
    await bob.client.leave(aliceDm);
  }, 120_000);
});

describeE2E("a room nobody else is in", () => {
  it("is left once its last other member leaves, after the call there has ended; a room with someone left in it is kept", async () => {
    const joinedRooms = (): Promise<string[]> => app.matrix.client.getJoinedRooms();
    const room = await openDirectChat(alice.client, bot.userId);
    await alice.client.invite(room, bob.userId);
    await bob.client.joinRoom(room);
    await waitFor("three members", async () => Object.keys((await alice.client.getJoinedRoomMembers(room)).joined).length === 3);
    await alice.client.leave(room);
    await waitFor("alice gone", async () => Object.keys((await bob.client.getJoinedRoomMembers(room)).joined).length === 2);
    // The bot handled alice's leave before bob's command: bob is still there, so it stays.
    expect(await ask(bob.client, room, "!cameras", "bob's list")).toBe("Cameras:\n• yard");
    expect(await joinedRooms()).toContain(room);

    // Bob leaves his direct chat during a call (from another device: this one drops the call without a word): the
    // call ends on his leave, then the bot leaves the room.
    const call = await rig.ring("bob", "yard");
    await call.answer();
    await call.waitForFrames(5, 20_000);
    call.hangup({ silent: true });
    await bob.client.leave(bobDm);
    await rig.released();
    await waitFor("the bot out of bob's direct chat", async () => !(await joinedRooms()).includes(bobDm));

    await bob.client.leave(room);
    await waitFor("the bot out of the room both left", async () => !(await joinedRooms()).includes(room));
  }, 90_000);
});
