/**
 * Proof that the end-to-end harnesses work: a real Synapse on loopback, and matrix-js-sdk (Element's VoIP code)
 * placing and answering a legacy video call in Node with decoded media.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startCallee, type Callee } from "../harness/callee.ts";
import { startCaller, type Caller } from "../harness/js-caller.ts";
import { harnessLog } from "../harness/log.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

describeE2E("e2e harness: Synapse + matrix-js-sdk callee", () => {
  let synapse: SynapseHandle | undefined;
  let caller: Caller | undefined;
  let callee: Callee | undefined;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    const t0 = Date.now();
    synapse = await startSynapse();
    harnessLog.info({ ms: Date.now() - t0 }, "synapse start");
    alice = await synapse.registerUser("alice");
    bob = await synapse.registerUser("bob");
  });

  afterAll(async () => {
    await callee?.stop();
    await caller?.stop();
    await synapse?.stop();
  });

  it("registers users that can log in and answers /versions", async () => {
    if (synapse === undefined) throw new Error("no synapse");
    expect(synapse.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(alice.userId).toBe(`@alice:${synapse.serverName}`);
    expect(bob.deviceId).not.toBe("");
    const whoami = await fetch(`${synapse.baseUrl}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${bob.accessToken}` },
    });
    expect(await whoami.json()).toMatchObject({ user_id: bob.userId, device_id: bob.deviceId });
  });

  it("rings, answers, decodes video and audio, and hangs up a js-sdk video call", async () => {
    if (synapse === undefined) throw new Error("no synapse");
    const { baseUrl } = synapse;
    caller = await startCaller({ baseUrl, ...alice });
    callee = await startCallee({ baseUrl, ...bob, autoJoin: true });

    const { room_id: roomId } = await caller.client.createRoom({
      is_direct: true,
      preset: "trusted_private_chat" as never,
      invite: [bob.userId],
    });
    // Both clients must see the two-member room before the call.
    const aliceClient = caller.client;
    const bobClient = callee.client;
    await waitFor("bob to join the DM", () => aliceClient.getRoom(roomId)?.getJoinedMemberCount() === 2);
    await waitFor("bob's client to have the joined room", () => bobClient.getRoom(roomId)?.getMyMembership() === "join");

    const outgoing = await caller.placeVideoCall(roomId, { invitee: bob.userId });
    const incoming = await callee.nextIncomingCall();
    expect(incoming.roomId).toBe(roomId);
    expect(incoming.callId).toBe(outgoing.callId);
    expect(callee.incomingCallCount()).toBe(1);

    const invite = callee.callEvents(roomId).find((e) => e.type === "m.call.invite");
    expect(invite).toMatchObject({ sender: alice.userId, content: { call_id: outgoing.callId, version: "1" } });
    expect(JSON.stringify(invite?.content["offer"])).toContain("m=video");

    await incoming.answer();
    await outgoing.connected();
    const video = await incoming.waitForFrames(20);
    expect(video.width).toBe(640);
    expect(video.height).toBe(360);
    const frame = incoming.lastFrame();
    expect(frame?.data.length).toBe((640 * 360 * 3) / 2);
    await incoming.waitForAudio();
    expect(incoming.audio().samples).toBeGreaterThan(0);

    incoming.hangup();
    expect(await incoming.ended()).toEqual({ hangupReason: "user_hangup", hangupParty: "local" });
    expect(await outgoing.ended()).toEqual({ hangupReason: "user_hangup", hangupParty: "remote" });
    const types = callee.callEvents(roomId).map((e) => e.type);
    expect(types).toContain("m.call.answer");
    await waitFor("the hangup in bob's timeline", () => callee?.callEvents(roomId).some((e) => e.type === "m.call.hangup"));
  });

  it("restarts Synapse with the same data", async () => {
    if (synapse === undefined) throw new Error("no synapse");
    const t0 = Date.now();
    await synapse.restart();
    harnessLog.info({ ms: Date.now() - t0 }, "synapse restart");
    const versions = await fetch(`${synapse.baseUrl}/_matrix/client/versions`);
    expect(versions.ok).toBe(true);
    const whoami = await fetch(`${synapse.baseUrl}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    expect(whoami.status).toBe(200);
  });
});
