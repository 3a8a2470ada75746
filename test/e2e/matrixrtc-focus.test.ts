/**
 * Focus discovery against real Synapse homeservers: one that offers MSC4143 transports (experimental msc4143_enabled
 * with matrix_rtc.transports) and also a well-known focus, one with only the well-known focus
 * (extra_well_known_client_content, as in test/e2e/doctor.test.ts), and one with neither.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { discoverFocus } from "../../src/matrixrtc/focus.ts";
import { startSynapse, type SynapseHandle } from "../harness/synapse.ts";
import { describeE2E } from "../harness/e2e-gate.ts";

const WELL_KNOWN_FOCUS = { "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://wk-jwt.example.org" }] };
let both: SynapseHandle;
let wellKnownOnly: SynapseHandle;
let bare: SynapseHandle;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  [both, wellKnownOnly, bare] = await Promise.all([
    startSynapse({
      extraConfig: {
        experimental_features: { msc4143_enabled: true },
        matrix_rtc: { transports: [{ type: "livekit", livekit_service_url: "https://transports-jwt.example.org" }] },
        serve_client_wellknown: true,
        extra_well_known_client_content: WELL_KNOWN_FOCUS,
      },
    }),
    startSynapse({ extraConfig: { serve_client_wellknown: true, extra_well_known_client_content: WELL_KNOWN_FOCUS } }),
    startSynapse(),
  ]);
  cleanups.push(
    () => both.stop(),
    () => wellKnownOnly.stop(),
    () => bare.stop(),
  );
}, 120_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describeE2E("focus discovery on Synapse", () => {
  it("takes the homeserver's MSC4143 rtc/transports (it needs the bot's access token)", async () => {
    const bot = await both.registerUser("focusbot");
    const found = await discoverFocus({ homeserverUrl: both.baseUrl, accessToken: bot.accessToken });
    expect(found.focus).toEqual({ type: "livekit", livekitServiceUrl: "https://transports-jwt.example.org", source: "rtc/transports" });
    // Without a valid token Synapse refuses (401): the discovery then falls back to the well-known.
    const anonymous = await discoverFocus({ homeserverUrl: both.baseUrl, accessToken: "not-a-token" });
    expect(anonymous.attempts[0]?.outcome).toMatch(/answered 401/);
    expect(anonymous.focus?.source).toBe("well-known");
  });

  it("falls back to the well-known's org.matrix.msc4143.rtc_foci when transports are not offered", async () => {
    const bot = await wellKnownOnly.registerUser("focusbot");
    const found = await discoverFocus({ homeserverUrl: wellKnownOnly.baseUrl, accessToken: bot.accessToken });
    expect(found.focus).toEqual({ type: "livekit", livekitServiceUrl: "https://wk-jwt.example.org", source: "well-known" });
    expect(found.attempts[0]).toMatchObject({ source: "rtc/transports", outcome: expect.stringMatching(/answered 404/) as unknown });
  });

  it("finds nothing on a bare homeserver and says where it looked; a configured focus still works there", async () => {
    const bot = await bare.registerUser("focusbot");
    const found = await discoverFocus({ homeserverUrl: bare.baseUrl, accessToken: bot.accessToken });
    expect(found.focus).toBeUndefined();
    expect(found.attempts.map((a) => a.source)).toEqual(["rtc/transports", "well-known"]);
    const configured = await discoverFocus({
      homeserverUrl: bare.baseUrl,
      accessToken: bot.accessToken,
      configured: "https://mine.example.org",
    });
    expect(configured.focus?.source).toBe("config");
  });
});
