/**
 * Focus discovery's parsing and order (src/matrixrtc/focus.ts) with a scripted fetch: pure logic, the real
 * homeserver run is test/e2e/matrixrtc-focus.test.ts. Also the config key and the rtc-node loader's messages.
 */
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { discoverFocus, pickLiveKit, TRANSPORTS_PATH, WELL_KNOWN_PATH } from "../../src/matrixrtc/focus.ts";
import { loadRtcNode, resetRtcNodeForTests, unavailableMessage, unavailableReason } from "../../src/matrixrtc/rtc-node.ts";

const HS = "http://hs.test";

/** A fetch that answers from a table of URL → [status, body] and records what was asked (with its headers). */
function scripted(table: Record<string, [number, unknown] | Error>): {
  fetch: typeof fetch;
  asked: { url: string; auth: string | null }[];
} {
  const asked: { url: string; auth: string | null }[] = [];
  const impl = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : input.toString();
    asked.push({ url, auth: new Headers(init?.headers).get("authorization") });
    const answer = table[url];
    if (answer instanceof Error) return Promise.reject(answer);
    if (answer === undefined) return Promise.resolve(new Response("not found", { status: 404 }));
    return Promise.resolve(new Response(typeof answer[1] === "string" ? answer[1] : JSON.stringify(answer[1]), { status: answer[0] }));
  };
  return { fetch: impl, asked };
}

describe("pickLiveKit", () => {
  it("takes the first livekit entry with an http(s) service URL, without a trailing slash", () => {
    const picked = pickLiveKit(
      [
        { type: "nextgen" },
        { type: "livekit", livekit_service_url: "https://jwt.example.org/" },
        { type: "livekit", livekit_service_url: "https://second.example.org" },
      ],
      "well-known",
    );
    expect(picked).toEqual({ type: "livekit", livekitServiceUrl: "https://jwt.example.org", source: "well-known" });
  });

  it("skips malformed entries and says why there is no focus", () => {
    const entries = [
      null,
      7,
      "livekit",
      { type: 3 },
      { type: "livekit" },
      { type: "livekit", livekit_service_url: "javascript:alert(1)" },
      { type: "livekit", livekit_service_url: ["x"] },
    ];
    const picked = pickLiveKit(entries, "rtc/transports");
    expect(typeof picked).toBe("string");
    expect(picked).toMatch(/no usable LiveKit focus/);
    expect(picked).toMatch(/without an http\(s\) livekit_service_url/);
    expect(pickLiveKit([], "config")).toBe("offers no transport");
    expect(pickLiveKit(undefined, "config")).toBe("offers no transport");
  });
});

describe("discoverFocus", () => {
  it("prefers the configured focus and asks the homeserver nothing", async () => {
    const { fetch, asked } = scripted({});
    const found = await discoverFocus({ homeserverUrl: HS, accessToken: "tok", configured: "https://mine.example.org", fetch });
    expect(found.focus).toEqual({ type: "livekit", livekitServiceUrl: "https://mine.example.org", source: "config" });
    expect(asked).toEqual([]);
  });

  it("uses the homeserver's rtc/transports (authenticated) before the well-known", async () => {
    const { fetch, asked } = scripted({
      [`${HS}${TRANSPORTS_PATH}`]: [200, { rtc_transports: [{ type: "livekit", livekit_service_url: "https://transports.example.org" }] }],
      [`${HS}${WELL_KNOWN_PATH}`]: [
        200,
        { "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://wk.example.org" }] },
      ],
    });
    const found = await discoverFocus({ homeserverUrl: `${HS}/`, accessToken: "tok", fetch });
    expect(found.focus?.livekitServiceUrl).toBe("https://transports.example.org");
    expect(found.focus?.source).toBe("rtc/transports");
    expect(asked).toEqual([{ url: `${HS}${TRANSPORTS_PATH}`, auth: "Bearer tok" }]);
  });

  it("falls back to the well-known when transports are not offered (404, {}, garbage, no answer), never sending it the token", async () => {
    const wellKnown: [number, unknown] = [
      200,
      {
        "m.homeserver": { base_url: HS },
        "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "https://wk.example.org" }],
      },
    ];
    for (const transports of [
      [404, { errcode: "M_UNRECOGNIZED" }],
      [200, {}],
      [200, "<html>"],
      [200, { rtc_transports: "no" }],
      new Error("ECONNRESET"),
    ] as const) {
      const { fetch, asked } = scripted({
        [`${HS}${TRANSPORTS_PATH}`]: transports as [number, unknown] | Error,
        [`${HS}${WELL_KNOWN_PATH}`]: wellKnown,
      });
      const found = await discoverFocus({ homeserverUrl: HS, accessToken: "tok", fetch });
      expect(found.focus).toEqual({ type: "livekit", livekitServiceUrl: "https://wk.example.org", source: "well-known" });
      expect(found.attempts.map((a) => a.source)).toEqual(["rtc/transports", "well-known"]);
      expect(asked.find((a) => a.url.endsWith(WELL_KNOWN_PATH))?.auth).toBeNull();
    }
  });

  it("tries the server name's well-known first, then the homeserver URL's", async () => {
    const { fetch, asked } = scripted({
      "https://example.org/.well-known/matrix/client": new Error("ENOTFOUND"),
      [`${HS}${WELL_KNOWN_PATH}`]: [200, { "org.matrix.msc4143.rtc_foci": [{ type: "livekit", livekit_service_url: "http://wk.test" }] }],
    });
    const found = await discoverFocus({ homeserverUrl: HS, accessToken: "tok", serverName: "example.org", fetch });
    expect(found.focus?.livekitServiceUrl).toBe("http://wk.test");
    expect(asked.map((a) => a.url)).toEqual([
      `${HS}${TRANSPORTS_PATH}`,
      "https://example.org/.well-known/matrix/client",
      `${HS}${WELL_KNOWN_PATH}`,
    ]);
  });

  it("reports every place it looked when there is no focus (what doctor explains as MISSING_MATRIX_RTC_FOCUS)", async () => {
    const { fetch } = scripted({
      [`${HS}${TRANSPORTS_PATH}`]: [200, {}],
      [`${HS}${WELL_KNOWN_PATH}`]: [200, { "m.homeserver": { base_url: HS } }],
    });
    const found = await discoverFocus({ homeserverUrl: HS, accessToken: "tok", configured: "ftp://nope", fetch });
    expect(found.focus).toBeUndefined();
    expect(found.attempts).toEqual([
      { source: "config", where: "matrixRtc.livekitServiceUrl", outcome: "not an http(s) URL" },
      { source: "rtc/transports", where: `${HS}${TRANSPORTS_PATH}`, outcome: "offers no transport" },
      { source: "well-known", where: `${HS}${WELL_KNOWN_PATH}`, outcome: "org.matrix.msc4143.rtc_foci offers no transport" },
    ]);
  });
});

describe("config matrixRtc.livekitServiceUrl", () => {
  const base = {
    homeserver: { url: "https://hs.example.org", accessToken: "t" },
    allowedUsers: ["@a:example.org"],
    cameras: [{ name: "c", url: "demo://clock" }],
  };
  it("is optional and takes an http(s) URL", () => {
    expect(parseConfig(base).matrixRtc.livekitServiceUrl).toBeUndefined();
    expect(parseConfig({ ...base, matrixRtc: { livekitServiceUrl: "https://jwt.example.org" } }).matrixRtc.livekitServiceUrl).toBe(
      "https://jwt.example.org",
    );
  });
  it("rejects anything else, naming the key", () => {
    expect(() => parseConfig({ ...base, matrixRtc: { livekitServiceUrl: "wss://sfu.example.org" } })).toThrow(
      /matrixRtc\.livekitServiceUrl/,
    );
    expect(() => parseConfig({ ...base, matrixRtc: { focus: "x" } })).toThrow(/matrixRtc/);
  });
});

describe("@livekit/rtc-node loader", () => {
  it("turns a missing package or native build into one 'MatrixRTC unavailable' line, without throwing", async () => {
    resetRtcNodeForTests();
    const missing = await loadRtcNode(() =>
      Promise.reject(new Error("Cannot find package '@livekit/rtc-node' imported from /app/dist/x.js")),
    );
    expect(missing).toEqual({ ok: false, reason: expect.stringMatching(/not installed/) as unknown });
    resetRtcNodeForTests();
    const noNative = await loadRtcNode(() =>
      Promise.reject(new Error("Cannot find module '@livekit/rtc-ffi-bindings-linux-arm-gnueabihf'")),
    );
    expect(noNative.ok).toBe(false);
    if (!noNative.ok)
      expect(unavailableMessage(noNative.reason)).toMatch(/^MatrixRTC unavailable: @livekit\/rtc-node has no native build for /);
    expect(unavailableReason("boom\nstack")).toBe("@livekit/rtc-node failed to load: boom");
    resetRtcNodeForTests();
  });

  it("loads here (linux-x64 glibc has the native build)", async () => {
    const loaded = await loadRtcNode();
    expect(loaded.ok).toBe(true);
  });
});
