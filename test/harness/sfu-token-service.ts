/**
 * A MatrixRTC token service for tests, implementing lk-jwt-service's documented legacy contract (its README and
 * shared/notes/matrixrtc.md §2) and nothing of its code (lk-jwt-service is AGPL-3.0; this is written from the
 * contract): `POST /sfu/get` with `{room, openid_token: {access_token, token_type, matrix_server_name, expires_in},
 * device_id}` (unknown fields rejected) → `{url, jwt}`. The OpenID token is checked with the homeserver's
 * `GET /_matrix/federation/v1/openid/userinfo`; the homeserver of each server name is given (no federation lookup
 * on loopback). The jwt is minted with livekit-server-sdk: identity `{sub}:{device_id}`, the room named as the
 * notes describe lk-jwt-service doing, join/publish/subscribe, 1 h. Anything but POST (and a CORS preflight) answers 405, as
 * lk-jwt-service does (deployment guides check /sfu/get with a GET and expect 405).
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { AccessToken } from "livekit-server-sdk";
import { z } from "zod";
import { freePort } from "../../src/dev/ports.ts";

export interface SfuTokenService {
  /** http://127.0.0.1:PORT, the focus's livekit_service_url. */
  url: string;
  /** Requests answered, by status. */
  answered: Map<number, number>;
  /** Set: every valid /sfu/get is refused with this status (a focus that will not hand out tokens). */
  refuseWith: number | undefined;
  stop(): Promise<void>;
}

const requestSchema = z
  .object({
    room: z.string().min(1),
    openid_token: z
      .object({ access_token: z.string().min(1), token_type: z.string(), matrix_server_name: z.string().min(1), expires_in: z.number() })
      .strict(),
    device_id: z.string().min(1),
  })
  .strict();

/**
 * Element Call is a web app on another origin than its focus, so the token service answers browsers' CORS
 * preflight (the Chromium callee in test/harness/element-call-callee posts JSON to it from its page).
 */
const CORS = { "access-control-allow-origin": "*", "access-control-allow-methods": "POST", "access-control-allow-headers": "content-type" };

const userInfoSchema = z.object({ sub: z.string().regex(/^@[^:]+:.+$/) });

/** The LiveKit room for a Matrix room's call slot (shared/notes/matrixrtc.md §2: sha256 of ["<room>","m.call#ROOM"]). */
export function liveKitRoomFor(roomId: string): string {
  return createHash("sha256")
    .update(JSON.stringify([roomId, "m.call#ROOM"]))
    .digest("base64");
}

export async function startSfuTokenService(opts: {
  livekit: { wsUrl: string; apiKey: string; apiSecret: string };
  /** server name → the homeserver's base URL (http://127.0.0.1:PORT). */
  homeservers: Record<string, string>;
  /** A port chosen beforehand (the bench names the focus in the bot's config before it starts it); default: a free one. */
  port?: number;
}): Promise<SfuTokenService> {
  const answered = new Map<number, number>();
  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    answered.set(status, (answered.get(status) ?? 0) + 1);
    res.writeHead(status, { "content-type": "application/json", ...CORS }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.url !== "/sfu/get") {
      reply(res, 404, { errcode: "M_NOT_FOUND", error: "no such endpoint" });
      return;
    }
    if (req.method === "OPTIONS") {
      res.writeHead(204, CORS).end();
      return;
    }
    if (req.method !== "POST") {
      reply(res, 405, { errcode: "M_UNRECOGNIZED", error: "method not allowed" });
      return;
    }
    let text = "";
    for await (const chunk of req) {
      text += String(chunk);
      if (text.length > 16_384) {
        reply(res, 413, { errcode: "M_TOO_LARGE", error: "body too large" });
        return;
      }
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      reply(res, 400, { errcode: "M_BAD_JSON", error: "not JSON" });
      return;
    }
    const parsed = requestSchema.safeParse(body);
    if (!parsed.success) {
      reply(res, 400, { errcode: "M_BAD_JSON", error: "the request does not match the contract" });
      return;
    }
    if (service.refuseWith !== undefined) {
      reply(res, service.refuseWith, { errcode: "M_FORBIDDEN", error: "this focus hands out no tokens now" });
      return;
    }
    const { room, openid_token: openid, device_id: deviceId } = parsed.data;
    const homeserver = opts.homeservers[openid.matrix_server_name];
    if (homeserver === undefined) {
      reply(res, 401, { errcode: "M_UNAUTHORIZED", error: "unknown homeserver" });
      return;
    }
    const info = await fetch(
      `${homeserver}/_matrix/federation/v1/openid/userinfo?access_token=${encodeURIComponent(openid.access_token)}`,
      { signal: AbortSignal.timeout(5_000) },
    );
    const user = userInfoSchema.safeParse(await info.json().catch(() => undefined));
    if (!info.ok || !user.success || !user.data.sub.endsWith(`:${openid.matrix_server_name}`)) {
      reply(res, 401, { errcode: "M_UNAUTHORIZED", error: "the OpenID token was not accepted by its homeserver" });
      return;
    }
    const at = new AccessToken(opts.livekit.apiKey, opts.livekit.apiSecret, { identity: `${user.data.sub}:${deviceId}`, ttl: "1h" });
    at.addGrant({ room: liveKitRoomFor(room), roomJoin: true, canPublish: true, canSubscribe: true });
    reply(res, 200, { url: opts.livekit.wsUrl, jwt: await at.toJwt() });
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, { errcode: "M_UNKNOWN", error: "internal error" });
    });
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const service: SfuTokenService = {
    url: `http://127.0.0.1:${port}`,
    answered,
    refuseWith: undefined,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
  return service;
}
