/**
 * doctor's MatrixRTC focus check (src/doctor/rtc-focus.ts) against real Synapses: one offering the focus through
 * MSC4143 rtc/transports (experimental msc4143_enabled, matrix_rtc.transports) whose token service is the /sfu/get
 * test service (405 to GET, as lk-jwt-service), one with none (MISSING_MATRIX_RTC_FOCUS explained), and a configured
 * focus URL that is not a token service (GET /sfu/get answers 404).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, type Config } from "../../src/config/load.ts";
import { checkRtcFocus } from "../../src/doctor/rtc-focus.ts";
import { startSfuTokenService, type SfuTokenService } from "../harness/sfu-token-service.ts";
import { startSynapse, type RegisteredUser, type SynapseHandle } from "../harness/synapse.ts";

let offering: SynapseHandle;
let bare: SynapseHandle;
let service: SfuTokenService;
const cleanups: (() => Promise<unknown>)[] = [];

function configFor(hs: SynapseHandle, bot: RegisteredUser, livekitServiceUrl?: string): Config {
  return parseConfig({
    homeserver: { url: hs.baseUrl, accessToken: bot.accessToken },
    allowedUsers: ["@alice:localhost"],
    cameras: [{ name: "door", url: "demo://clock" }],
    dataDir: mkdtempSync(path.join(tmpdir(), "mcc-doctor-rtc-")),
    ...(livekitServiceUrl !== undefined ? { matrixRtc: { livekitServiceUrl } } : {}),
  });
}

beforeAll(async () => {
  // The homeserver map is filled once Synapse runs; the service reads it per request. No token is minted here.
  const homeservers: Record<string, string> = {};
  service = await startSfuTokenService({
    livekit: { wsUrl: "ws://127.0.0.1:9", apiKey: "unused", apiSecret: "unused-unused-unused-unused-unused" },
    homeservers,
  });
  cleanups.push(() => service.stop());
  [offering, bare] = await Promise.all([
    startSynapse({
      extraConfig: {
        experimental_features: { msc4143_enabled: true },
        matrix_rtc: { transports: [{ type: "livekit", livekit_service_url: service.url }] },
      },
    }),
    startSynapse(),
  ]);
  homeservers[offering.serverName] = offering.baseUrl;
  cleanups.push(
    () => offering.stop(),
    () => bare.stop(),
  );
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe("doctor: MatrixRTC focus", () => {
  it("passes with the focus from rtc/transports whose /sfu/get answers 405 to GET", async () => {
    const bot = await offering.registerUser("doctorrtc");
    const result = await checkRtcFocus(configFor(offering, bot), bot.accessToken, bot.userId);
    expect(result.status).toBe("pass");
    expect(result.detail).toBe(
      `${service.url} from the homeserver's MSC4143 rtc/transports; GET /sfu/get answers 405 (POST only), as lk-jwt-service does`,
    );
    expect(service.answered.get(405)).toBeGreaterThan(0);
  });

  it("warns, naming each place it looked, when there is no focus (MISSING_MATRIX_RTC_FOCUS)", async () => {
    const bot = await bare.registerUser("doctorrtc");
    const result = await checkRtcFocus(configFor(bare, bot), bot.accessToken, bot.userId);
    expect(result.status).toBe("warn");
    expect(result.detail).toMatch(/^no LiveKit focus: .*rtc\/transports answered 404/);
    expect(result.detail).toContain("/.well-known/matrix/client");
    expect(result.fix).toMatch(/MISSING_MATRIX_RTC_FOCUS/);
    expect(result.detail).not.toContain(bot.accessToken);
  });

  it("warns when the configured focus's /sfu/get does not answer 405 (not a token service)", async () => {
    const bot = await bare.registerUser("doctorrtc2");
    const result = await checkRtcFocus(configFor(bare, bot, bare.baseUrl), bot.accessToken, bot.userId);
    expect(result.status).toBe("warn");
    expect(result.detail).toBe(`${bare.baseUrl} from matrixRtc.livekitServiceUrl: GET /sfu/get answered 404, not 405`);
    expect(result.fix).toMatch(/reverse proxy/);
  });
});
