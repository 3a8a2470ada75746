import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LogOnce } from "../doorbell/log-once.ts";
import { type Logger } from "../util/logger.ts";

/** Open connections at most; a small home bot has a handful (a doorbell, Home Assistant, a Prometheus scraper). */
export const MAX_CONNECTIONS = 256;

export interface HttpRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingMessage["headers"];
  /** The request body, read up to the route's limit. */
  body: Buffer;
  remoteAddress: string | undefined;
}

export interface HttpReply {
  status: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type HttpHandler = (req: HttpRequest) => Promise<HttpReply> | HttpReply;

interface Route {
  method: string;
  /** Exact path, or a prefix ending in "/" that matches everything below it. */
  path: string;
  maxBodyBytes: number;
  handler: HttpHandler;
}

export class BodyTooLargeError extends Error {}

/**
 * The bot's one small HTTP listener: health, metrics and the doorbell webhook register routes on it.
 * Bodies are bounded per route; a handler that throws answers 500 and never takes the bot down.
 */
export class HttpServer {
  private readonly routes: Route[] = [];
  private server: Server | undefined;
  private readonly errors: LogOnce;

  constructor(private readonly log: Logger) {
    this.errors = new LogOnce(log);
  }

  route(method: string, path: string, handler: HttpHandler, maxBodyBytes = 0): void {
    this.routes.push({ method: method.toUpperCase(), path, maxBodyBytes, handler });
  }

  /** Listens on "host:port" (port 0 picks a free one); resolves with the bound address. */
  async listen(address: string): Promise<{ host: string; port: number }> {
    const { host, port } = parseListen(address);
    // Node checks these timeouts only every connectionsCheckingInterval (default 30 s): a socket that never finished
    // its headers lived ~30 s instead of 5. Checked every second, it is closed after 5-6 s.
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000, connectionsCheckingInterval: 1_000 }, (req, res) => {
      void this.handle(req, res);
    });
    // Sockets past this are closed at once: a flood of idle connections cannot use up the bot's file descriptors.
    server.maxConnections = MAX_CONNECTIONS;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // Node emits accept failures here for as long as the server runs; without a listener each would be an
    // uncaught exception that ends the bot. They are logged and the server goes on.
    server.on("error", (err: NodeJS.ErrnoException) => {
      this.errors.warn(`error ${err.code ?? err.name}`, { err }, "HTTP listener error");
    });
    const bound = server.address() as AddressInfo;
    this.log.info({ host: bound.address, port: bound.port }, "HTTP listener started");
    return { host: bound.address, port: bound.port };
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }

  private find(method: string, path: string): Route | undefined {
    return this.routes.find((r) => r.method === method && (r.path === path || (r.path.endsWith("/") && path.startsWith(r.path))));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const method = (req.method ?? "GET").toUpperCase();
    const route = this.find(method, path);
    if (!route) {
      send(res, { status: this.routes.some((r) => r.path === path) ? 405 : 404, body: "not found\n" });
      req.resume();
      return;
    }
    try {
      const body = await readBody(req, route.maxBodyBytes);
      const reply = await route.handler({ method, path, headers: req.headers, body, remoteAddress: req.socket.remoteAddress });
      send(res, reply);
    } catch (err: unknown) {
      if (err instanceof BodyTooLargeError) {
        send(res, { status: 413, body: "request body too large\n" });
        req.destroy();
        return;
      }
      this.log.error({ path, err }, "HTTP handler failed");
      send(res, { status: 500, body: "internal error\n" });
    }
  }
}

function send(res: ServerResponse, reply: HttpReply): void {
  if (res.headersSent) return;
  res.writeHead(reply.status, { "content-type": reply.contentType ?? "text/plain; charset=utf-8", ...reply.headers });
  res.end(reply.body ?? "");
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > limit) {
      reject(new BodyTooLargeError());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(chunk);
    });
    req.once("end", () => {
      resolve(Buffer.concat(chunks));
    });
    req.once("error", reject);
  });
}

export function parseListen(address: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address.trim());
  if (!m?.[1] || m[2] === undefined) throw new Error(`listen address must be host:port, got ${address}`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`port out of range in ${address}`);
  return { host: m[1].replace(/^\[|\]$/g, ""), port };
}
