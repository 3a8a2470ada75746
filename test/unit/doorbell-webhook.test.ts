/**
 * The doorbell webhook over real HTTP: the real HttpServer and WebhookTrigger on 127.0.0.1, requests from several
 * loopback addresses (127.0.0.2, …; Linux routes all of 127/8 to lo). The press behind it only records what it was given.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { clientKey } from "../../src/doorbell/rate-limit.ts";
import { WebhookTrigger } from "../../src/doorbell/webhook.ts";
import { HttpServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/util/logger.ts";

const TOKEN = "webhook-test-token-0123456789";

interface Setup {
  port: number;
  presses: string[];
  warnings: () => string[];
}

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(rateLimit = { burst: 10, perMinute: 20 }): Promise<Setup> {
  const lines: string[] = [];
  const log = createLogger({ level: "info", destination: { write: (s: string) => void lines.push(s) } });
  const http = new HttpServer(log);
  servers.push(http);
  const presses: string[] = [];
  const hook = new WebhookTrigger(
    { token: TOKEN, rateLimit },
    (camera) => {
      presses.push(camera);
      return "ringing";
    },
    log,
  );
  hook.attach(http);
  const { port } = await http.listen("127.0.0.1:0");
  const warnings = (): string[] =>
    lines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg);
  return { port, presses, warnings };
}

/** POST /ring/<camera> from `from`; resolves with the status. */
function post(port: number, from: string, camera: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        localAddress: from,
        method: "POST",
        path: `/ring/${camera}`,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("the doorbell webhook's rate limits", () => {
  it("unauthenticated requests from several addresses never stop an authenticated press", async () => {
    const { port, presses, warnings } = await start();
    const statuses = new Map<number, number>();
    // Six addresses, each past its own burst (10): before the fix their 60 requests drained the shared bucket (40).
    for (let a = 2; a <= 7; a++) {
      for (let i = 0; i < 15; i++) {
        const status = await post(port, `127.0.0.${String(a)}`, "frontdoor", i % 2 === 0 ? undefined : "wrong-token-but-long-enough");
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    expect(presses).toEqual([]);
    expect(await post(port, "127.0.0.8", "frontdoor", TOKEN)).toBe(202);
    expect(Object.fromEntries(statuses)).toEqual({ 401: 60, 429: 30 });
    // Even from an address that is past its limit for failures.
    expect(await post(port, "127.0.0.2", "frontdoor", TOKEN)).toBe(202);
    expect(presses).toEqual(["frontdoor", "frontdoor"]);
    // One warn line per kind, not one per address.
    expect(warnings().sort()).toEqual([
      "doorbell webhook: missing or wrong token",
      "doorbell webhook: too many requests without the right token",
    ]);
  });

  it("authenticated presses have a bucket of their own, four times a client's", async () => {
    const { port, presses } = await start({ burst: 2, perMinute: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push(await post(port, "127.0.0.3", "frontdoor", TOKEN));
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 202, 202, 429]);
    expect(presses).toHaveLength(8);
  });
});

describe("clientKey", () => {
  it("keys IPv4 by address and IPv6 by /64", () => {
    expect(clientKey("192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(clientKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(clientKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(clientKey("2001:db8:1:2::1%eth0")).toBe("2001:db8:1:2::/64");
    expect(clientKey("::1")).toBe("0:0:0:0::/64");
    expect(clientKey("64:ff9b::192.0.2.7")).toBe("64:ff9b:0:0::/64");
    expect(clientKey(undefined)).toBe("unknown");
  });
});
