/**
 * The bot's MatrixRTC call answered by a real Element-Call-style callee (test/harness/element-call-callee:
 * matrix-js-sdk 43's MatrixRTC + livekit-client in headless Chromium), through the whole bot (startRig): alice sets
 * `!ring matrixrtc` and types `!call cam`; the callee sees the ring and matrix-js-sdk 43 finds it valid (the bot
 * opened the room's MSC4143 slot first); it joins (its call.member + LiveKit) and decodes the camera; js-sdk 43
 * parses the bot's membership; it leaves, and the bot's call ends (its membership emptied, the camera released).
 * Real Synapse, livekit-server, the /sfu/get test service, a GStreamer RTSP camera. Skips with one line when
 * chromium or the livekit-server binary is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.ts";
import { CALL_MEMBER_TYPE, membershipStateKey, RTC_SLOT_STATE_KEY, RTC_SLOT_TYPE } from "../../src/matrixrtc/rtc-wire.ts";
import { sayToBot } from "../harness/bot-replies.ts";
import type { Callee } from "../harness/callee.ts";
import type { ElementCallCallee } from "../harness/element-call-callee/driver.ts";
import { elementCallGate, startUsersElementCall } from "../harness/element-call-callee/gate.ts";
import { reportFigure } from "../harness/figures.ts";
import type { Rig } from "../harness/rig.ts";
import { startRtcRig } from "../harness/rtc-rig.ts";
import type { SfuTokenService } from "../harness/sfu-token-service.ts";
import type { RegisteredUser } from "../harness/synapse.ts";
import { waitFor } from "../harness/wait.ts";

const gate = elementCallGate();

let service: SfuTokenService;
let stopRtc: (() => Promise<void>) | undefined;
let rig: Rig | undefined;
let app: App;
let alice: RegisteredUser;
/** Alice's Node client (the rig's): she types the commands there, as from another device. */
let typist: Callee;
/** Alice's Element Call (a second device of hers): it rings and takes the call. */
let ec: ElementCallCallee | undefined;
let dm: string;

/** A state event's content in the DM, read from the homeserver as alice (undefined when there is none). */
async function state(type: string, stateKey: string): Promise<unknown> {
  const res = await fetch(
    `${rig?.synapse.baseUrl ?? ""}/_matrix/client/v3/rooms/${encodeURIComponent(dm)}/state/${type}/${encodeURIComponent(stateKey)}`,
    {
      headers: { authorization: `Bearer ${alice.accessToken}` },
    },
  );
  return res.status === 200 ? await res.json() : undefined;
}

async function say(body: string, reply: (text: string) => boolean): Promise<string> {
  return sayToBot(typist, dm, app.matrix.userId, body, reply);
}

describe.skipIf(gate.skip !== undefined)(
  "the bot's MatrixRTC call, answered by Element Call (Chromium: matrix-js-sdk 43 + livekit-client)",
  () => {
    beforeAll(async () => {
      const started = await startRtcRig("rtc-element-call", "rtcecbot");
      stopRtc = started.stop;
      rig = started.rig;
      service = started.service;
      app = rig.app;
      alice = rig.user("alice");
      typist = rig.callee("alice");
      dm = started.dm;
      ec = await startUsersElementCall(gate, rig.synapse.baseUrl, alice, service.url);
    }, 180_000);

    afterAll(async () => {
      await ec?.stop().catch(() => undefined);
      await stopRtc?.();
    });

    it("!ring matrixrtc, !call cam: js-sdk 43 finds the ring valid, Element Call joins and sees the camera, its leave ends the call", async () => {
      if (ec === undefined) throw new Error("no Element Call callee");
      const callee = ec;
      const botId = app.matrix.userId;
      const botDevice = app.matrix.deviceId ?? "";
      expect(await state(RTC_SLOT_TYPE, RTC_SLOT_STATE_KEY)).toBeUndefined();
      expect(await say("!ring matrixrtc", (t) => t.startsWith("!call rings you"))).toContain("MatrixRTC");

      const typed = Date.now();
      await typist.client.sendTextMessage(dm, "!call cam");
      const ring = await callee.waitForRing(dm, { timeoutMs: 30_000 }).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${callee.log()}`);
      });
      expect(ring.sender).toBe(botId);
      expect(ring.content["notification_type"]).toBe("ring");
      expect(ring.jsSdk).toEqual({ valid: true });
      expect(await state(RTC_SLOT_TYPE, RTC_SLOT_STATE_KEY)).toEqual({ status: "open", application: { type: "m.call" } });

      const joinStarted = Date.now();
      const joined = await callee.join(dm);
      expect(joined.identity).toBe(`${alice.userId}:${callee.deviceId}`);
      const stats = await callee.waitForVideo({ frames: 50, timeoutMs: 30_000 });
      reportFigure("matrixrtc-element-call", {
        commandToRingSeenMs: ring.seenAt - typed,
        joinToFirstFrameMs: stats.video.firstFrameAt !== undefined ? Math.round(stats.video.firstFrameAt - joinStarted) : undefined,
        size: `${String(stats.video.width)}x${String(stats.video.height)}`,
        framesDecoded: stats.video.framesDecoded,
        pageErrors: callee.pageErrors.length,
      });
      expect(stats.remoteIdentities).toContain(`${botId}:${botDevice}`);
      expect([stats.video.width, stats.video.height]).toEqual([640, 360]);
      expect(stats.video.framesDecoded).toBeGreaterThanOrEqual(50);

      // The bot's membership as matrix-js-sdk 43's CallMembership parses it in Element Call's own session.
      const bot = await waitFor(
        "the bot in the callee's MatrixRTC session",
        async () => (await callee.memberships(dm)).find((m) => m.userId === botId && m.deviceId === botDevice),
        { timeoutMs: 20_000 },
      );
      expect(bot.rtcBackendIdentity).toBe(`${botId}:${botDevice}`);
      expect(bot.transport).toMatchObject({ type: "livekit", livekit_service_url: service.url, livekit_alias: dm });
      expect(await say("!status", (t) => t.includes("MatrixRTC call"))).toContain("MatrixRTC call: cam (connected)");

      await callee.leave();
      await waitFor(
        "the bot's membership emptied after the callee left",
        async () => JSON.stringify(await state(CALL_MEMBER_TYPE, membershipStateKey(botId, botDevice))) === "{}",
        { timeoutMs: 20_000 },
      );
      await waitFor("the camera released", () => app.hub.stats()["cam"]?.leases === 0, { timeoutMs: 15_000 });
    });
  },
);
