/**
 * The token step's parsing (src/matrixrtc/sfu-token.ts) with a scripted fetch: what is sent to /sfu/get (exactly
 * the contract's three fields), malformed answers, and that no token ever appears in an error. The real run against
 * Synapse, the test token service and LiveKit is test/e2e/matrixrtc-token.test.ts.
 */
import { describe, expect, it } from "vitest";
import { requestOpenIdToken, requestSfuToken, SfuTokenError } from "../../src/matrixrtc/sfu-token.ts";

const OPENID = { access_token: "openid-secret-abc", token_type: "Bearer", matrix_server_name: "example.org", expires_in: 3600 };

function answering(status: number, body: string, seen: { url?: string; body?: unknown; auth?: string | null } = {}): typeof fetch {
  return (input: string | URL | Request, init?: RequestInit) => {
    seen.url = input instanceof Request ? input.url : input.toString();
    seen.body = typeof init?.body === "string" ? JSON.parse(init.body) : undefined;
    seen.auth = new Headers(init?.headers).get("authorization");
    return Promise.resolve(new Response(body, { status }));
  };
}

describe("requestSfuToken", () => {
  it("posts {room, openid_token, device_id} to {service}/sfu/get and returns url and jwt", async () => {
    const seen: { url?: string; body?: unknown; auth?: string | null } = {};
    const token = await requestSfuToken(
      { serviceUrl: "https://jwt.example.org/", roomId: "!dm:example.org", deviceId: "CAMDEV", openIdToken: OPENID },
      answering(200, JSON.stringify({ url: "wss://sfu.example.org", jwt: "eyJ.x.y" }), seen),
    );
    expect(token).toEqual({ url: "wss://sfu.example.org", jwt: "eyJ.x.y" });
    expect(seen.url).toBe("https://jwt.example.org/sfu/get");
    expect(seen.body).toEqual({ room: "!dm:example.org", openid_token: OPENID, device_id: "CAMDEV" });
    expect(seen.auth).toBeNull();
  });

  it("refuses answers without a usable url and jwt, and never shows the OpenID token", async () => {
    for (const [status, body, pattern] of [
      [200, JSON.stringify({ url: "ftp://x", jwt: "j" }), /without a usable url and jwt/],
      [200, JSON.stringify({ url: "wss://x" }), /without a usable url and jwt/],
      [200, "<html>", /without a usable url and jwt/],
      [
        401,
        JSON.stringify({ errcode: "M_UNAUTHORIZED", error: "The request could not be authorised." }),
        /refused a LiveKit token: 401 \(M_UNAUTHORIZED: The request could not be authorised\.\)/,
      ],
      [500, "oops", /refused a LiveKit token: 500$/],
    ] as const) {
      const err: unknown = await requestSfuToken(
        { serviceUrl: "https://jwt.example.org", roomId: "!r:x", deviceId: "D", openIdToken: OPENID },
        answering(status, body),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SfuTokenError);
      expect((err as Error).message).toMatch(pattern);
      expect((err as Error).message).not.toContain(OPENID.access_token);
    }
  });
});

describe("requestOpenIdToken", () => {
  it("asks the homeserver with the bot's token and parses the answer", async () => {
    const seen: { url?: string; auth?: string | null } = {};
    const token = await requestOpenIdToken(
      "https://hs.example.org",
      "syt_bot",
      "@cam:example.org",
      answering(200, JSON.stringify(OPENID), seen),
    );
    expect(token).toEqual(OPENID);
    expect(seen.url).toBe("https://hs.example.org/_matrix/client/v3/user/%40cam%3Aexample.org/openid/request_token");
    expect(seen.auth).toBe("Bearer syt_bot");
  });

  it("turns refusals and malformed answers into errors without the access token", async () => {
    for (const [status, body] of [
      [401, JSON.stringify({ errcode: "M_UNKNOWN_TOKEN", error: "Invalid access token passed." })],
      [200, JSON.stringify({ access_token: "x" })],
    ] as const) {
      const err: unknown = await requestOpenIdToken(
        "https://hs.example.org",
        "syt_bot_secret",
        "@cam:example.org",
        answering(status, body),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SfuTokenError);
      expect((err as Error).message).not.toContain("syt_bot_secret");
    }
  });
});
