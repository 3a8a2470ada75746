/**
 * Being called with MatrixRTC (issue 13, "be called"), through the whole bot (startRig) on real parts: Synapse,
 * livekit-server, two /sfu/get token services (the bot's configured one and the caller's own), two GStreamer RTSP
 * cameras of different sizes (cam 640x360, the default; cam2 320x240), and alice's Element Call in headless Chromium
 * (matrix-js-sdk 43's MatrixRTC session + livekit-client) as the caller.
 *
 * 1. Alice starts a call in the DM (js-sdk's joinRTCSession with a ring): the bot joins on her focus (its
 *    call.member, parsed by js-sdk's CallMembership in her session, names her service, not the bot's own), with no
 *    ring of its own; she decodes cam at 640x360; `!switch cam2` turns the picture into 320x240; her leave empties
 *    the bot's membership and releases the camera.
 * 2. `!hangup` ends the bot's part while alice stays in her call; a membership of hers that lapses with no new event
 *    (a client gone where no delayed leave was scheduled) ends it at its expiry.
 * 3. A stranger's call is not joined and gets no word; alice's own call in that three-member room is refused in words.
 * 4. An encrypted DM: the bot says so plainly and does not join.
 * Skips with one line when chromium or the livekit-server binary is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { ENCRYPTED_JOIN_TEXT } from "../../src/matrixrtc/rtc-calls.ts";
import { CALL_MEMBER_TYPE, membershipStateKey } from "../../src/matrixrtc/rtc-wire.ts";
import { sayToBot } from "../harness/bot-replies.ts";
import type { Callee } from "../harness/callee.ts";
import type { ElementCallCallee } from "../harness/element-call-callee/driver.ts";
import { elementCallGate, startUsersElementCall } from "../harness/element-call-callee/gate.ts";
import { reportFigure } from "../harness/figures.ts";
import type { Rig } from "../harness/rig.ts";
import { startRtcRig } from "../harness/rtc-rig.ts";
import { strictMembershipSchema } from "../harness/rtc-wire-schema.ts";
import { startSfuTokenService, type SfuTokenService } from "../harness/sfu-token-service.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

const gate = elementCallGate();

let stopRtc: (() => Promise<void>) | undefined;
let rig: Rig;
let app: App;
let alice: RegisteredUser;
/** Alice's Node client (the rig's): she types the commands there, as from another device. */
let typist: Callee;
/** Alice's Element Call (a second device of hers): she starts the calls there. */
let ec: ElementCallCallee | undefined;
/** The focus alice's Element Call uses: a second token service, so the bot's choice of focus shows. */
let callerService: SfuTokenService | undefined;
let botService: SfuTokenService;
let dm: string;

async function request(user: RegisteredUser, method: string, path: string, body?: object): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${rig.synapse.baseUrl}/_matrix/client/v3${path}`, {
    method,
    headers: { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.headers.get("content-type")?.includes("json") === true ? await res.json() : undefined };
}

function statePath(roomId: string, type: string, stateKey: string): string {
  return `/rooms/${encodeURIComponent(roomId)}/state/${type}/${encodeURIComponent(stateKey)}`;
}

/** A state event's content in a room, read as alice (undefined when there is none). */
async function state(roomId: string, type: string, stateKey: string): Promise<unknown> {
  const { status, json } = await request(alice, "GET", statePath(roomId, type, stateKey));
  return status === 200 ? json : undefined;
}

/** The bot's call.member content in a room (undefined when it never sent one). */
function botMembership(roomId: string): Promise<unknown> {
  return state(roomId, CALL_MEMBER_TYPE, membershipStateKey(app.matrix.userId, app.matrix.deviceId ?? ""));
}

/** `user` joins the room's call from a device of theirs, with the membership Element Call sends (compatibility mode). */
async function sendMembership(user: RegisteredUser, roomId: string, extra: Record<string, unknown> = {}): Promise<void> {
  const { status } = await request(user, "PUT", statePath(roomId, CALL_MEMBER_TYPE, membershipStateKey(user.userId, user.deviceId)), {
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: user.deviceId,
    expires: 14_400_000,
    "m.call.intent": "video",
    focus_active: { type: "livekit", focus_selection: "multi_sfu" },
    foci_preferred: [{ type: "livekit", livekit_service_url: callerService?.url ?? "", livekit_alias: roomId }],
    ...extra,
  });
  expect(status).toBe(200);
}

/** Alice types `body` in `roomId`; resolves with the bot's first reply there that `reply` accepts. */
async function say(body: string, reply: (text: string) => boolean, roomId = dm): Promise<string> {
  return sayToBot(typist, roomId, app.matrix.userId, body, reply);
}

/** A room alice makes with the bot (and `others`), where members may send call.member, as Element's DMs allow. */
async function roomWithBot(others: readonly string[], encrypted = false): Promise<string> {
  const { room_id: roomId } = await typist.client.createRoom({
    preset: "private_chat" as never,
    invite: [app.matrix.userId, ...others],
    power_level_content_override: { events: { [CALL_MEMBER_TYPE]: 0 } },
    ...(encrypted ? { initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] } : {}),
  });
  await waitFor("the bot to join the room", async () =>
    Object.keys((await typist.client.getJoinedRoomMembers(roomId)).joined).includes(app.matrix.userId),
  );
  return roomId;
}

describe.skipIf(gate.skip !== undefined)("being called: a user starts an Element Call in the DM and the bot joins", () => {
  beforeAll(async () => {
    const started = await startRtcRig("rtc-incoming", "rtcinbot", { secondCamera: true });
    stopRtc = started.stop;
    rig = started.rig;
    app = rig.app;
    botService = started.service;
    alice = rig.user("alice");
    typist = rig.callee("alice");
    dm = started.dm;
    callerService = await startSfuTokenService({ livekit: started.lk, homeservers: { [rig.synapse.serverName]: rig.synapse.baseUrl } });
    ec = await startUsersElementCall(gate, rig.synapse.baseUrl, alice, callerService.url);
  }, 180_000);

  afterAll(async () => {
    await ec?.stop().catch(() => undefined);
    await callerService?.stop();
    await stopRtc?.();
  });

  it("alice's call (with a ring): the bot joins on her focus with cam, !switch cam2 changes the picture, her leave ends the bot's membership", async () => {
    if (ec === undefined) throw new Error("no Element Call");
    const caller = ec;
    const botId = app.matrix.userId;
    const botDevice = app.matrix.deviceId ?? "";
    expect(callerService?.url).not.toBe(botService.url);

    const started = Date.now();
    const joined = await caller.join(dm, { ring: true });
    expect(joined.identity).toBe(`${alice.userId}:${caller.deviceId}`);
    // The bot's membership as matrix-js-sdk 43's CallMembership parses it in alice's own session: on her focus.
    const bot = await waitFor(
      "the bot in alice's MatrixRTC session",
      async () => (await caller.memberships(dm)).find((m) => m.userId === botId && m.deviceId === botDevice),
      { timeoutMs: 20_000 },
    );
    const botJoinedMs = Date.now() - started;
    expect(bot.rtcBackendIdentity).toBe(`${botId}:${botDevice}`);
    expect(bot.transport).toMatchObject({ type: "livekit", livekit_service_url: callerService?.url, livekit_alias: dm });
    expect(strictMembershipSchema.parse(await botMembership(dm)).device_id).toBe(botDevice);

    const stats = await caller.waitForVideo({ frames: 50, timeoutMs: 30_000 });
    expect(stats.remoteIdentities).toContain(`${botId}:${botDevice}`);
    expect([stats.video.width, stats.video.height]).toEqual([640, 360]);
    // Her ring went out (js-sdk's, from her), and the bot sent none of its own.
    await waitFor("alice's ring", () => caller.rings.find((r) => r.roomId === dm && r.sender === alice.userId));
    expect(caller.rings.filter((r) => r.sender === botId)).toEqual([]);
    expect(typist.messages(dm, botId).some((t) => t.includes("can't"))).toBe(false);
    expect(await say("!status", (t) => t.includes("MatrixRTC call"))).toContain("MatrixRTC call: cam (connected)");
    // The encode budget's speed watch reads this call's encoder too (app.encodeFigures: legacy and MatrixRTC calls).
    const encoder = await waitFor("the MatrixRTC call's encoder figures", async () =>
      (await app.encodeFigures()).find((f) => f.callId.startsWith("rtc-") && f.video !== undefined),
    );
    expect(encoder.video).toMatchObject({ width: 640, height: 360 });
    expect(encoder.video?.counters.framesEncoded).toBeGreaterThan(0);

    const switchAt = Date.now();
    expect(await say("!switch cam2", (t) => t.includes("cam2"))).toBe("Now showing cam2.");
    const after = await waitFor(
      "alice to decode cam2's 320x240 picture",
      async () => {
        const s = await caller.stats();
        return s.video.width === 320 && s.video.height === 240 ? s : undefined;
      },
      { timeoutMs: 20_000 },
    );
    const switchMs = Date.now() - switchAt;
    await waitFor(
      "frames of cam2 to keep coming",
      async () => (await caller.stats()).video.framesDecoded >= after.video.framesDecoded + 25,
      {
        timeoutMs: 15_000,
      },
    );
    expect(await say("!switch cam2", (t) => t.includes("cam2"))).toBe("The call already shows cam2.");
    expect(await say("!status", (t) => t.includes("MatrixRTC call"))).toContain("MatrixRTC call: cam2 (connected)");
    await waitFor("cam released, cam2 leased", () => app.hub.stats()["cam"]?.leases === 0 && app.hub.stats()["cam2"]?.leases === 1);
    reportFigure("matrixrtc-incoming", {
      joinToBotMembershipMs: botJoinedMs,
      firstFrameAfterJoinMs: stats.video.firstFrameAt !== undefined ? Math.round(stats.video.firstFrameAt - started) : undefined,
      switchToNewSizeMs: switchMs,
      framesDecoded: stats.video.framesDecoded,
    });

    await caller.leave();
    await waitFor("the bot's membership emptied after alice left", async () => JSON.stringify(await botMembership(dm)) === "{}", {
      timeoutMs: 20_000,
    });
    await waitFor("the camera released", () => app.hub.stats()["cam2"]?.leases === 0, { timeoutMs: 15_000 });
  });

  it("!hangup ends the bot's part of alice's call; she stays in it", async () => {
    if (ec === undefined) throw new Error("no Element Call");
    const caller = ec;
    await caller.join(dm);
    await waitFor("the bot to join", async () => strictMembershipSchema.safeParse(await botMembership(dm)).success, { timeoutMs: 20_000 });
    await caller.waitForVideo({ frames: 10, timeoutMs: 30_000 });
    await typist.client.sendTextMessage(dm, "!hangup");
    await waitFor("the bot's membership emptied", async () => JSON.stringify(await botMembership(dm)) === "{}", { timeoutMs: 20_000 });
    await waitFor("the camera released", () => app.hub.stats()["cam"]?.leases === 0, { timeoutMs: 15_000 });
    // Alice's own membership is still there: only the bot left.
    const own = await state(dm, CALL_MEMBER_TYPE, membershipStateKey(alice.userId, caller.deviceId));
    expect(own).toMatchObject({ application: "m.call", device_id: caller.deviceId });
    expect(await say("!status", (t) => t.includes("Cameras:"))).not.toContain("MatrixRTC call:");
    await caller.leave();
  });

  it("a caller whose membership lapses with no new event (no delayed leave on her side): the bot leaves at its expiry", async () => {
    const sent = Date.now();
    // 10 s: long enough for the bot to join first on a busy machine (it took 0.7-1.6 s here).
    await sendMembership(alice, dm, { created_ts: sent, expires: 10_000 });
    await waitFor("the bot to join", async () => strictMembershipSchema.safeParse(await botMembership(dm)).success, { timeoutMs: 20_000 });
    await waitFor("the bot's membership emptied at hers' expiry", async () => JSON.stringify(await botMembership(dm)) === "{}", {
      timeoutMs: 30_000,
    });
    expect(Date.now() - sent).toBeGreaterThanOrEqual(10_000);
    await waitFor("the camera released", () => app.hub.stats()["cam"]?.leases === 0, { timeoutMs: 15_000 });
  });

  it("a stranger's call is not joined and gets no word; alice's own call in that three-member room is refused in words", async () => {
    const botId = app.matrix.userId;
    const mallory = await rig.synapse.registerUser("mallory");
    const room = await roomWithBot([mallory.userId]);
    expect((await request(mallory, "POST", `/join/${encodeURIComponent(room)}`, {})).status).toBe(200);
    await sendMembership(mallory, room);
    // The bot handles a room's events in order: its answer to !status comes after it saw mallory's membership.
    await say("!status", (t) => t.includes("Cameras:"), room);
    await sendMembership(alice, room);
    const refusal = await waitFor("the bot's refusal of alice's call", () =>
      typist.messages(room, botId).find((t) => t.startsWith("I can't answer calls here:")),
    );
    expect(refusal).toBe(
      "I can't answer calls here: I only place calls in a direct chat with exactly two members; this room has 3. Start a direct chat with me and call from there.",
    );
    // One refusal (alice's): mallory's call had no answer at all, and nobody's was joined.
    expect(typist.messages(room, botId).filter((t) => t.startsWith("I can't"))).toHaveLength(1);
    expect(await botMembership(room)).toBeUndefined();
  });

  it("an encrypted DM: the bot says plainly that it cannot join, and does not", async () => {
    const room = await roomWithBot([], true);
    await sendMembership(alice, room);
    const said = await waitFor("the bot to say why it does not join", () =>
      typist.messages(room, app.matrix.userId).find((t) => t.includes("encrypted")),
    );
    expect(said).toBe(ENCRYPTED_JOIN_TEXT);
    expect(await botMembership(room)).toBeUndefined();
    expect(app.hub.stats()["cam"]?.leases).toBe(0);
  });

  it("shutdown ends the bot's part of alice's call: its membership is emptied", async () => {
    if (ec === undefined) throw new Error("no Element Call");
    await ec.join(dm);
    await waitFor("the bot to join", async () => strictMembershipSchema.safeParse(await botMembership(dm)).success, { timeoutMs: 20_000 });
    await app.stop();
    expect(JSON.stringify(await botMembership(dm))).toBe("{}");
    await ec.leave();
  });
});
