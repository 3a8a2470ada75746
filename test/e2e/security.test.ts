/**
 * Security, end to end on real parts (Synapse, a GStreamer RTSP camera, the bot in-process, matrix-js-sdk users):
 * the allowlist guards every way in (invite, command, call to the bot, and the answer/hangup of the bot's call:
 * only its invitee counts); a third member joining mid-call (the call goes on, the room is told, no new call there);
 * the ceiling on calls in progress and the per-user call rate, each with a chat reply, both for !call and for calls
 * placed to the bot; camera URLs never pass through a shell. (Secrets in logs: log-secrets.test.ts.)
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { runChecks } from "../../src/doctor/run.ts";
import { RTCPeerConnection } from "../../src/rtc/wrtc.ts";
import { CallState } from "../../src/call/state.ts";
import type { Callee } from "../harness/callee.ts";
import { readsCamera } from "../harness/cameras.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import type { Caller } from "../harness/js-caller.ts";
import { startRig, type Rig } from "../harness/rig.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

const MARK_X = path.join(tmpdir(), `mcc-shell-x-${process.pid}`);
const MARK_Y = path.join(tmpdir(), `mcc-shell-y-${process.pid}`);
const SHELL_URLS = [`rtsp://127.0.0.1:9/$(touch ${MARK_X})`, `rtsp://127.0.0.1:9/cam;touch ${MARK_Y}`];

let rig: Rig;
let app: App;
let bot: RegisteredUser;
let alice: Callee;
let carol: Caller;
let mallory: Callee;

/** Sends `body` as `client` and resolves once the bot has seen it: everything sent before it was handled. */
async function sync(client: Callee["client"], roomId: string, body: string): Promise<void> {
  const seen = new Promise<void>((resolve) => {
    const onMessage = (_room: string, event: { content?: { body?: unknown } }): void => {
      if (event.content?.body !== body) return;
      app.matrix.client.off("room.message", onMessage);
      resolve();
    };
    app.matrix.client.on("room.message", onMessage);
  });
  await client.sendTextMessage(roomId, body);
  await seen;
}

/** The bot's text messages in a room, seen by a js-sdk client. */
function botSays(client: Callee["client"], roomId: string): string[] {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events.filter((e) => e.getSender() === bot.userId && e.getType() === "m.room.message").map((e) => String(e.getContent()["body"]));
}

function botCallEvents(client: Callee["client"], roomId: string, callId: string): string[] {
  const events = client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
  return events
    .filter((e) => e.getSender() === bot.userId && e.getType().startsWith("m.call.") && e.getContent()["call_id"] === callId)
    .map((e) => e.getType());
}

/** The bot's last offer (SDP), for the stranger's forged events. */
let offer = "";

function strangerSends(roomId: string, type: string, content: Record<string, unknown>): Promise<unknown> {
  return mallory.client.sendEvent(roomId, type as never, content as never);
}

/** A real SDP answer to an offer, as any WebRTC client would make it. */
async function answerSdp(offer: string): Promise<string> {
  // Not the bot's counted factory: this connection is the stranger's.
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

/** argv of every running ffmpeg/ffprobe/gst-launch-1.0, as the kernel has it (one entry per argument). */
function readerArgvs(): string[][] {
  const out: string[][] = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
      if (/(ff(mpeg|probe)|gst-launch-1\.0)$/.test(argv[0] ?? "")) out.push(argv);
    } catch {
      continue; // it ended while we looked
    }
  }
  return out;
}

beforeAll(async () => {
  for (const mark of [MARK_X, MARK_Y]) rmSync(mark, { force: true });
  rig = await startRig({
    name: "security",
    botName: "guardbot",
    cameras: { cam: { width: 640, height: 360, fps: 15, audio: "pcma" } },
    users: ["alice", "bob", { name: "carol", as: "caller" }, { name: "mallory", dm: false }],
    logLevel: process.env["TEST_LOG_LEVEL"] ?? "silent",
    config: ({ cameras, users }) => ({
      allowedUsers: ["alice", "bob", "carol"].map((name) => users[name]?.userId),
      cameras: [
        { name: "cam", url: cameras["cam"]?.url, maxWidth: 640, maxHeight: 360 },
        // Each URL read by the default front end (GStreamer) and by ffmpeg.
        ...SHELL_URLS.map((url, i) => ({ name: `shell${i}`, url, audio: false, frontEnd: "gstreamer" as const })),
        ...SHELL_URLS.map((url, i) => ({ name: `shell${i + SHELL_URLS.length}`, url, audio: false, frontEnd: "ffmpeg" as const })),
      ],
      calls: { maxConcurrent: 2, maxPerUserPerMinute: 4 },
    }),
  });
  ({ app, bot } = rig);
  alice = rig.callee("alice");
  carol = rig.caller("carol");
  mallory = rig.callee("mallory");
}, 180_000);

afterAll(async () => {
  await rig.stop();
  for (const mark of [MARK_X, MARK_Y]) rmSync(mark, { force: true });
});

describeE2E("the allowlist and a third member", () => {
  it("a stranger's invite is rejected", async () => {
    const { room_id } = await mallory.client.createRoom({ preset: "private_chat" as never, is_direct: true, invite: [bot.userId] });
    await waitFor(
      "the bot to reject the stranger's invite",
      async () => {
        const state = await mallory.client.getStateEvent(room_id, "m.room.member", bot.userId).catch(() => undefined);
        return (state as { membership?: string } | undefined)?.membership === "leave";
      },
      { timeoutMs: 20_000 },
    );
  });

  it("a stranger in the room: their answer and hangup of the bot's ringing call are ignored (only the invitee counts)", async () => {
    const room = rig.dm("alice");
    const call = await rig.ring("alice", "cam");
    const session = app.calls.callInRoom(room);
    expect(session?.state).toBe(CallState.Ringing);

    // Alice brings mallory into the room while her phone rings: the bot says what that means.
    await alice.client.invite(room, mallory.userId);
    const notice = await waitFor(
      "the bot's third-member notice",
      () => botSays(alice.client, room).find((t) => t.startsWith(`${mallory.userId} joined this room during the call`)),
      { timeoutMs: 20_000 },
    );
    expect(notice).toContain(`reaches only ${alice.userId}'s device`);

    // A perfectly good answer to the bot's offer, but from someone who is not the invitee; then a hangup.
    const invite = alice.callEvents(room).find((e) => e.type === "m.call.invite" && e.content["call_id"] === call.callId);
    offer = (invite?.content["offer"] as { sdp: string } | undefined)?.sdp ?? "";
    await strangerSends(room, "m.call.answer", {
      call_id: call.callId,
      version: "1",
      party_id: "MALLORY",
      answer: { type: "answer", sdp: await answerSdp(offer) },
    });
    await strangerSends(room, "m.call.hangup", { call_id: call.callId, version: "1", party_id: "MALLORY", reason: "user_hangup" });
    await sync(mallory.client, room, "!call cam");
    expect(session?.state).toBe(CallState.Ringing);
    expect(app.calls.callInRoom(room)).toBe(session);
    // matrix-js-sdk (Element's calling code) stops ringing on any hangup for the call while it rings, whoever sent
    // it: that is the client's doing; the bot's call rings on until alice's !hangup (or its lifetime).
    await sync(alice.client, room, "!hangup");
    await rig.released();
    await waitFor("the bot's hangup in the room", () => botCallEvents(alice.client, room, call.callId).includes("m.call.hangup"));
    await mallory.client.leave(room);
    await waitFor("two members", async () => Object.keys((await alice.client.getJoinedRoomMembers(room)).joined).length === 2);
  }, 90_000);

  it("a third member joins mid-call: the call goes on, their call events, calls and commands are ignored, no new call in the room", async () => {
    const room = rig.dm("alice");
    const call = await rig.ring("alice", "cam");
    await call.answer();
    await call.waitForFrames(15, 20_000);
    const session = app.calls.callInRoom(room);
    const before = botSays(alice.client, room).length;
    await alice.client.invite(room, mallory.userId);
    await waitFor(
      "the bot's third-member notice",
      () =>
        botSays(alice.client, room)
          .slice(before)
          .find((t) => t.startsWith(`${mallory.userId} joined this room during the call`)),
      { timeoutMs: 20_000 },
    );

    await strangerSends(room, "m.call.hangup", { call_id: call.callId, version: "1", party_id: "MALLORY", reason: "user_hangup" });
    await strangerSends(room, "m.call.reject", { call_id: call.callId, version: "1", party_id: "MALLORY" });
    await strangerSends(room, "m.call.candidates", {
      call_id: call.callId,
      version: "1",
      party_id: "MALLORY",
      candidates: [{ candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host", sdpMid: "0" }],
    });
    // The stranger calls the bot in the room: ignored without a word (a reject is for allowed callers).
    await strangerSends(room, "m.call.invite", {
      call_id: "mallory-call",
      version: "1",
      party_id: "MALLORY",
      lifetime: 60_000,
      invitee: bot.userId,
      offer: { type: "offer", sdp: offer },
    });
    await sync(mallory.client, room, "!help");
    const frames = call.video().frames;
    await call.waitForFrames(frames + 15, 10_000);
    expect(session?.state).toBe(CallState.Connected);
    expect(call.isEnded()).toBe(false);
    expect(botCallEvents(alice.client, room, "mallory-call")).toEqual([]);
    // Only alice's commands are ever answered: nothing for the stranger's !call and !help.
    expect(botSays(alice.client, room).filter((t) => t.startsWith("Commands:") || t.includes("Unknown camera"))).toEqual([]);

    // With three members the bot places no new call in the room, and says why.
    call.hangup();
    await rig.released();
    await sync(alice.client, room, "!call cam");
    await waitFor("the refusal", () => botSays(alice.client, room).some((t) => t.includes("exactly two members")));
    expect(app.calls.activeCount()).toBe(0);
    await mallory.client.leave(room);
    await waitFor("two members", async () => Object.keys((await alice.client.getJoinedRoomMembers(room)).joined).length === 2);
  }, 90_000);
});

describeE2E("call limits", () => {
  it("calls.maxConcurrent (2): a third call is refused with a reply, by !call and when placed to the bot", async () => {
    const a = await rig.ring("alice", "cam");
    const b = await rig.ring("bob", "cam");
    await Promise.all([a.answer(), b.answer()]);
    await Promise.all([a.waitForFrames(5, 20_000), b.waitForFrames(5, 20_000)]);
    const room = rig.dm("carol");
    await sync(carol.client, room, "!call cam");
    const full = "I already have 2 calls in progress, the most I take at once. Try again when one has ended.";
    await waitFor("the !call refusal", () => botSays(carol.client, room).includes(full));
    const placed = await carol.placeVideoCall(room, { invitee: bot.userId });
    await waitFor("the bot's m.call.reject", () => botCallEvents(carol.client, room, placed.callId).includes("m.call.reject"), {
      timeoutMs: 20_000,
    });
    await placed.ended();
    expect(botSays(carol.client, room).filter((t) => t === full)).toHaveLength(2);
    expect(app.calls.activeCount()).toBe(2);
    a.hangup();
    b.hangup();
    await rig.released();
  }, 90_000);

  it("calls.maxPerUserPerMinute (4): the fifth call a user starts within a minute is refused with a reply, both ways", async () => {
    const room = rig.dm("carol");
    for (let i = 0; i < 4; i++) {
      const placed = await carol.placeVideoCall(room, { invitee: bot.userId });
      await placed.connected(20_000);
      placed.hangup();
      await placed.ended();
      await rig.released();
    }
    const placed = await carol.placeVideoCall(room, { invitee: bot.userId });
    await waitFor("the bot's m.call.reject", () => botCallEvents(carol.client, room, placed.callId).includes("m.call.reject"), {
      timeoutMs: 20_000,
    });
    await placed.ended();
    await sync(carol.client, room, "!call cam");
    const limited = await waitFor("two rate-limit replies", () => {
      const replies = botSays(carol.client, room).filter((t) => t.startsWith("You have started 4 calls in the last minute"));
      return replies.length === 2 ? replies : undefined;
    });
    for (const reply of limited) expect(reply).toMatch(/Try again in \d+ s\.$/);
    expect(app.calls.activeCount()).toBe(0);
  }, 120_000);
});

describeE2E("camera URLs and the shell", () => {
  it("a URL full of shell syntax reaches gst-launch-1.0, ffmpeg and ffprobe as one argument and runs nothing", async () => {
    const names = ["shell0", "shell1", "shell2", "shell3"];
    const leases = names.map((name) => app.hub.acquire(name));
    try {
      for (const url of SHELL_URLS) {
        const gst = await waitFor(`a gst-launch-1.0 with ${url}`, () => readerArgvs().find((a) => a.includes(`location=${url}`)), {
          timeoutMs: 15_000,
          intervalMs: 20,
        });
        expect(gst.filter((arg) => arg.includes("touch"))).toEqual([`location=${url}`]);
        // ffmpeg reads it through the camera's frame-end proxy: 127.0.0.1 and the proxy's port, the rest as written.
        const ffmpeg = await waitFor(
          `an ffmpeg with ${url}`,
          () => readerArgvs().find((a) => /ffmpeg$/.test(a[0] ?? "") && a.some((arg) => readsCamera(arg, url))),
          { timeoutMs: 15_000, intervalMs: 20 },
        );
        const touching = ffmpeg.filter((arg) => arg.includes("touch"));
        expect(touching).toHaveLength(1);
        expect(readsCamera(touching[0] ?? "", url)).toBe(true);
      }
      // Nothing listens on port 9: each front end fails and is started again, URL and all, by the front end it began with.
      await waitFor("all four cameras retried", () => names.every((name) => (app.hub.stats()[name]?.restarts ?? 0) >= 2), {
        timeoutMs: 20_000,
      });
      expect(names.map((name) => app.hub.stats()[name]?.frontEnd)).toEqual(["gstreamer", "gstreamer", "ffmpeg", "ffmpeg"]);
    } finally {
      for (const lease of leases) lease.release();
    }
    // doctor probes every camera with ffprobe, the same way.
    const checks = await runChecks(app.config);
    expect(checks.filter((c) => c.name.includes("shell")).map((c) => c.status)).toEqual(["fail", "fail", "fail", "fail"]);
    await waitFor("the shell cameras stopped", () => names.every((name) => app.hub.stats()[name]?.state === "stopped"), {
      timeoutMs: 10_000,
    });
    expect(existsSync(MARK_X)).toBe(false);
    expect(existsSync(MARK_Y)).toBe(false);
  }, 60_000);
});
