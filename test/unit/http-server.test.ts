/** The HTTP listener's robustness, on real sockets: a bounded number of connections, slow headers cut off in seconds, server errors logged. */
import type { Server } from "node:http";
import { createConnection, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpServer, MAX_CONNECTIONS } from "../../src/http/server.ts";
import { createLogger } from "../../src/util/logger.ts";

const servers: HttpServer[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(): Promise<{ http: HttpServer; port: number; lines: string[] }> {
  const lines: string[] = [];
  const http = new HttpServer(createLogger({ level: "info", destination: { write: (s: string) => void lines.push(s) } }));
  servers.push(http);
  http.route("GET", "/healthz", () => ({ status: 200, body: "ok\n" }));
  const { port } = await http.listen("127.0.0.1:0");
  return { http, port, lines };
}

/** A new connection's answer to GET /healthz ("" when the server closed it unanswered). */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    sockets.push(socket);
    let answer = "";
    const done = (): void => {
      resolve(answer);
    };
    socket.on("data", (d: Buffer) => {
      answer += d.toString();
      if (answer.endsWith("\r\n0\r\n\r\n")) done();
    });
    socket.once("close", done);
    socket.once("error", done);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  });
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    sockets.push(socket);
    socket.once("connect", () => {
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** Sends a GET /healthz on the socket; resolves with what came back before the socket closed or the answer ended. */
function get(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve("");
      return;
    }
    let answer = "";
    const done = (): void => {
      resolve(answer);
    };
    socket.on("data", (d: Buffer) => {
      answer += d.toString();
      if (answer.endsWith("\r\n0\r\n\r\n")) done();
    });
    socket.once("close", done);
    socket.once("error", done);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  });
}

describe("HttpServer", () => {
  it(`serves at most ${String(MAX_CONNECTIONS)} connections at once; the next one is closed unanswered`, async () => {
    const { port } = await start();
    const open = await Promise.all(Array.from({ length: MAX_CONNECTIONS }, () => connect(port)));
    // Each answered: the server has accepted all of them.
    const answers = await Promise.all(open.map(get));
    expect(answers.filter((a) => a.startsWith("HTTP/1.1 200"))).toHaveLength(MAX_CONNECTIONS);
    expect(await ask(port)).toBe("");
    open[0]?.destroy();
    await expect.poll(() => ask(port), { timeout: 5_000 }).toMatch(/^HTTP\/1\.1 200/);
  }, 20_000);

  it("closes a connection whose headers never end within seconds (a slowloris socket), not after Node's default 30 s check", async () => {
    const { port } = await start();
    const socket = await connect(port);
    const started = Date.now();
    const closed = new Promise<number>((resolve) =>
      socket.once("close", () => {
        resolve(Date.now() - started);
      }),
    );
    socket.on("data", () => undefined);
    socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n");
    const ms = await closed;
    // headersTimeout 5 s, checked every second: 5-6 s; generous for a busy machine, far below 30 s.
    expect(ms).toBeGreaterThanOrEqual(4_000);
    expect(ms).toBeLessThan(15_000);
  }, 40_000);

  it("logs a server error after it started listening and keeps serving (Node emits accept failures there)", async () => {
    const { http, port, lines } = await start();
    const server = (http as unknown as { server: Server }).server;
    const failure = Object.assign(new Error("accept ENFILE"), { code: "ENFILE", syscall: "accept" });
    server.emit("error", failure);
    server.emit("error", failure);
    expect(lines.filter((l) => l.includes('"msg":"HTTP listener error"'))).toHaveLength(1);
    expect(await ask(port)).toMatch(/^HTTP\/1\.1 200/);
  });
});
