/**
 * Headless Chromium (the Debian package) driven through the Chrome DevTools Protocol over a pipe.
 *
 * Why raw CDP and not puppeteer-core / playwright-core: the callee needs five CDP methods (Target.createTarget and
 * attach, Page.navigate, Runtime.evaluate, Runtime.addBinding) and three events; `--remote-debugging-pipe` gives
 * them with no port to listen on and no WebSocket, in ~150 lines, where puppeteer-core 25 would add six direct
 * dependencies (chromium-bidi, ws, @puppeteer/browsers with its download tooling, …) for the same five calls.
 * Every answer the driver reads is parsed with zod.
 *
 * Chromium runs as root here, so it needs --no-sandbox. The fake media flags give it a microphone and camera
 * (a beep and a test pattern) and grant getUserMedia without a prompt. The background-networking flags keep it
 * from calling Google's services (this machine has no internet; they would only time out).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Readable, Writable } from "node:stream";
import { z } from "zod";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
const CLOSE_GRACE_MS = 3_000;

/** The Chromium binary (CHROMIUM, or the Debian package's), or why the browser tests skip. */
export function chromiumBinary(): { path: string } | { skip: string } {
  const fromEnv = process.env["CHROMIUM"];
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv };
  const found = CANDIDATES.find((p) => existsSync(p));
  return found !== undefined ? { path: found } : { skip: "Element Call callee tests skipped: no chromium (apt-get install chromium)" };
}

const replySchema = z.object({
  id: z.number(),
  result: z.record(z.string(), z.unknown()).optional(),
  error: z.object({ message: z.string() }).optional(),
});
const eventSchema = z.object({
  method: z.string(),
  params: z.record(z.string(), z.unknown()).default({}),
  sessionId: z.string().optional(),
});

/** CDP Runtime.evaluate's answer, the parts read here. */
const evaluateResultSchema = z.object({
  result: z.object({ value: z.unknown().optional() }).optional(),
  exceptionDetails: z
    .object({ text: z.string().optional(), exception: z.object({ description: z.string().optional() }).optional() })
    .optional(),
});

type EventHandler = (params: Record<string, unknown>) => void;

/** One browser process and its CDP connection (the pipe on fds 3 and 4). */
export class Chromium {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; method: string }
  >();
  private readonly handlers = new Map<string, EventHandler[]>();
  private buffered = "";
  private closed = false;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly userDataDir: string,
    private readonly output: () => string,
  ) {
    const out = child.stdio[4] as Readable;
    out.setEncoding("utf8").on("data", (chunk: string) => {
      this.onData(chunk);
    });
    this.exited = new Promise((resolve) =>
      child.once("exit", () => {
        this.closed = true;
        for (const p of this.pending.values()) p.reject(new Error(`chromium exited during ${p.method}: ${this.output().slice(-1500)}`));
        this.pending.clear();
        resolve();
      }),
    );
  }

  static launch(binary: string): Chromium {
    const userDataDir = mkdtempSync(path.join(tmpdir(), "mcc-chromium-"));
    const args = [
      "--headless=new",
      "--no-sandbox",
      "--remote-debugging-pipe",
      `--user-data-dir=${userDataDir}`,
      "--use-fake-ui-for-media-stream",
      "--use-fake-device-for-media-stream",
      "--autoplay-policy=no-user-gesture-required",
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--mute-audio",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-domain-reliability",
      // Host candidates as IP addresses, not mDNS names (the SFU on loopback cannot resolve .local names).
      "--disable-features=WebRtcHideLocalIpsWithMdns,Translate,OptimizationHints,MediaRouter",
      "about:blank",
    ];
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"] });
    let output = "";
    const append = (d: string): void => {
      output = (output + d).slice(-20_000);
    };
    child.stdout?.setEncoding("utf8").on("data", append);
    child.stderr?.setEncoding("utf8").on("data", append);
    return new Chromium(child, userDataDir, () => output);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Chromium's own stdout/stderr (the last 20 kB). */
  log(): string {
    return this.output();
  }

  on(method: string, handler: EventHandler): void {
    this.handlers.set(method, [...(this.handlers.get(method) ?? []), handler]);
  }

  /** Sends a CDP command (to the browser, or to an attached page when `sessionId` is given) and returns its result. */
  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(new Error(`chromium is closed (${method})`));
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params, ...(sessionId !== undefined ? { sessionId } : {}) });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, method });
      (this.child.stdio[3] as Writable).write(`${message}\0`);
    });
  }

  /** A new blank page, attached (flat) with Runtime enabled: its CDP session id. */
  async openPage(): Promise<string> {
    const target = await this.send("Target.createTarget", { url: "about:blank" });
    const attached = await this.send("Target.attachToTarget", { targetId: target["targetId"], flatten: true });
    const sessionId = String(attached["sessionId"]);
    await this.send("Runtime.enable", {}, sessionId);
    return sessionId;
  }

  /** Runtime.evaluate in an attached page, promises awaited: the expression's JSON value, or its exception's text. */
  async evaluate(sessionId: string, expression: string, timeoutMs = 30_000): Promise<{ value: unknown; exception?: string }> {
    const r = evaluateResultSchema.parse(
      await this.send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true, timeout: timeoutMs }, sessionId),
    );
    const details = r.exceptionDetails;
    return details === undefined
      ? { value: r.result?.value }
      : { value: undefined, exception: details.exception?.description ?? details.text ?? "unknown error" };
  }

  /** Browser.close, then SIGKILL after a grace period; removes the profile directory. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.send("Browser.close").catch(() => undefined);
      const kill = setTimeout(() => this.child.kill("SIGKILL"), CLOSE_GRACE_MS);
      await this.exited;
      clearTimeout(kill);
    }
    rmSync(this.userDataDir, { recursive: true, force: true });
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    for (let end = this.buffered.indexOf("\0"); end >= 0; end = this.buffered.indexOf("\0")) {
      const text = this.buffered.slice(0, end);
      this.buffered = this.buffered.slice(end + 1);
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        continue; // not CDP; the reply schema would reject it anyway
      }
      this.dispatch(message);
    }
  }

  private dispatch(message: unknown): void {
    const reply = replySchema.safeParse(message);
    if (reply.success) {
      const waiting = this.pending.get(reply.data.id);
      this.pending.delete(reply.data.id);
      if (waiting === undefined) return;
      if (reply.data.error !== undefined) waiting.reject(new Error(`${waiting.method}: ${reply.data.error.message}`));
      else waiting.resolve(reply.data.result ?? {});
      return;
    }
    const event = eventSchema.safeParse(message);
    if (event.success) for (const handler of this.handlers.get(event.data.method) ?? []) handler(event.data.params);
  }
}
