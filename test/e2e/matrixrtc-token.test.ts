/**
 * The token step on real parts: the bot's OpenID token from a real Synapse, exchanged at a token service that
 * implements lk-jwt-service's /sfu/get contract (test/harness/sfu-token-service.ts: it checks the token with
 * Synapse's federation openid/userinfo and mints with livekit-server-sdk), and the jwt admits the bot to the real
 * LiveKit SFU as `{userId}:{deviceId}` in the call's LiveKit room. Refusals give a clear error without secrets.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadRtcNode, type RtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { requestOpenIdToken, requestSfuToken, SfuTokenError } from "../../src/matrixrtc/sfu-token.ts";
import { liveKitBinary, startLiveKit, type LiveKit } from "../harness/livekit.ts";
import { liveKitRoomFor, startSfuTokenService, type SfuTokenService } from "../harness/sfu-token-service.ts";
import { describeE2E } from "../harness/e2e-gate.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";

const found = liveKitBinary();
const ROOM_ID = "!dm:localhost";

let synapse: SynapseHandle;
let lk: LiveKit;
let service: SfuTokenService;
let bot: RegisteredUser;
let rtc: RtcNode;
const cleanups: (() => Promise<unknown>)[] = [];

describeE2E(
  "MatrixRTC token step",
  () => {
    beforeAll(async () => {
      const loaded = await loadRtcNode();
      if (!loaded.ok) throw new Error(loaded.reason);
      rtc = loaded.rtc;
      [synapse, lk] = await Promise.all([startSynapse(), startLiveKit()]);
      cleanups.push(
        () => synapse.stop(),
        () => lk.stop(),
      );
      service = await startSfuTokenService({ livekit: lk, homeservers: { [synapse.serverName]: synapse.baseUrl } });
      cleanups.push(() => service.stop());
      bot = await synapse.registerUser("rtcbot");
    }, 120_000);

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      // No rtc.dispose(): rtc-node keeps its FFI client on globalThis, and the end-to-end files share one process
      // (vitest singleFork), so a later file would find it disposed.
    });

    it("answers 405 to a GET of /sfu/get, as deployment guides check", async () => {
      const res = await fetch(`${service.url}/sfu/get`);
      expect(res.status).toBe(405);
    });

    it("gets an OpenID token, exchanges it for a LiveKit token, and joins LiveKit as user:device in the call's room", async () => {
      const openid = await requestOpenIdToken(synapse.baseUrl, bot.accessToken, bot.userId);
      expect(openid.matrix_server_name).toBe(synapse.serverName);
      const token = await requestSfuToken({ serviceUrl: service.url, roomId: ROOM_ID, deviceId: bot.deviceId, openIdToken: openid });
      expect(token.url).toBe(lk.wsUrl);
      const room = new rtc.Room();
      try {
        await room.connect(token.url, token.jwt, { autoSubscribe: false, dynacast: true });
        expect(room.localParticipant?.identity).toBe(`${bot.userId}:${bot.deviceId}`);
        expect(room.name).toBe(liveKitRoomFor(ROOM_ID));
      } finally {
        await room.disconnect();
      }
    });

    it("a forged OpenID token is refused with a clear error that carries no token", async () => {
      const forged = {
        access_token: "forged-openid-token-1234",
        token_type: "Bearer",
        matrix_server_name: synapse.serverName,
        expires_in: 3600,
      };
      const err: unknown = await requestSfuToken({ serviceUrl: service.url, roomId: ROOM_ID, deviceId: "DEV", openIdToken: forged }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SfuTokenError);
      expect((err as SfuTokenError).status).toBe(401);
      expect((err as SfuTokenError).message).toMatch(
        /^the MatrixRTC focus http:\/\/127\.0\.0\.1:\d+\/sfu\/get refused a LiveKit token: 401 \(M_UNAUTHORIZED: /,
      );
      expect((err as SfuTokenError).message).not.toContain("forged-openid-token");
    });

    it("a homeserver that refuses the OpenID request, and a focus that does not answer, are errors too", async () => {
      const refused: unknown = await requestOpenIdToken(synapse.baseUrl, "syt_not_a_token", bot.userId).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(SfuTokenError);
      expect((refused as SfuTokenError).message).toMatch(/^the homeserver refused an OpenID token: 401 \(M_UNKNOWN_TOKEN/);
      expect((refused as SfuTokenError).message).not.toContain("syt_not_a_token");
      const openid = await requestOpenIdToken(synapse.baseUrl, bot.accessToken, bot.userId);
      const silent: unknown = await requestSfuToken({
        serviceUrl: "http://127.0.0.1:9",
        roomId: ROOM_ID,
        deviceId: "DEV",
        openIdToken: openid,
      }).catch((e: unknown) => e);
      expect(silent).toBeInstanceOf(SfuTokenError);
      expect((silent as SfuTokenError).message).toMatch(/did not answer/);
      expect((silent as SfuTokenError).message).not.toContain(openid.access_token);
    });
  },
  "skip" in found ? found.skip : undefined,
);
