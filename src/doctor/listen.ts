/**
 * doctor's check of `http.listen`. The port can be bound: pass. It is taken: if /healthz there answers as
 * matrix-camera-call, the bot itself is running there, which is a pass (doctor is often run beside the running bot);
 * anything else holding the port is a failure to fix.
 */
import { createServer } from "node:net";
import type { Config } from "../config/load.ts";
import { healthSchema, type Health } from "../http/health.ts";
import { parseListen } from "../http/server.ts";
import type { CheckResult } from "./checks.ts";

const NAME = "HTTP listener (webhook, health, metrics)";

function bind(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      resolve(err);
    });
    server.listen(port, host, () => {
      server.close(() => {
        resolve(undefined);
      });
    });
  });
}

/** Asks the port's /healthz whether this bot answers there (at most 3 s). */
async function runningBot(host: string, port: number): Promise<Health | undefined> {
  // A wildcard address is reached on loopback; an IPv6 literal needs brackets in a URL.
  const target = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  try {
    const res = await fetch(`http://${target}:${String(port)}/healthz`, { signal: AbortSignal.timeout(3000) });
    const parsed = healthSchema.safeParse(JSON.parse(await res.text()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // not HTTP, not JSON, or no answer: not the bot
  }
}

export async function checkListen(config: Config, botUserId?: string): Promise<CheckResult | undefined> {
  const listen = config.http.listen;
  if (listen === undefined) return undefined;
  const { host, port } = parseListen(listen);
  const err = await bind(host, port);
  if (err === undefined) return { name: NAME, status: "pass", detail: `${listen} can be bound` };
  if (err.code !== "EADDRINUSE") {
    return { name: NAME, status: "fail", detail: `cannot bind ${listen}: ${err.code ?? err.message}`, fix: "check http.listen" };
  }
  const bot = await runningBot(host, port);
  if (bot === undefined) {
    return {
      name: NAME,
      status: "fail",
      detail: `cannot bind ${listen}: EADDRINUSE, and what holds it is not matrix-camera-call`,
      fix: "another program uses this port: pick another http.listen or stop that program",
    };
  }
  if (botUserId !== undefined && bot.user !== botUserId) {
    return {
      name: NAME,
      status: "warn",
      detail: `${listen} is held by another matrix-camera-call (${bot.user}), not this configuration's ${botUserId}`,
      fix: "two bots cannot share http.listen: give this one another port",
    };
  }
  const detail = `the bot is running there (${bot.user}, ${bot.status}, ${String(bot.calls)} call(s) in progress)`;
  return { name: NAME, status: "pass", detail };
}
