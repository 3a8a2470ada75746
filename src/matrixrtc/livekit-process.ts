/**
 * The bot's side of one LiveKit process (livekit-child.ts), and its one owner: it starts it, carries each call's
 * messages and media (livekit-wire.ts, media-pipe.ts), and ends it. livekit-host.ts decides when a process is worn
 * and replaced.
 *
 * The child gets only what it needs: the search path and what libraries read (childEnv), glibc's malloc settings
 * and the launcher's preload (the VP8 encoders run in there), the log level; never the bot's access token, password
 * or webhook secret. Its log lines (JSON on stdout) go to the bot's log, whose redaction applies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { childEnv } from "../media/child-env.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { CameraLease } from "../media/camera-hub.ts";
import { CameraStreams, type SentCounts } from "./camera-streams.ts";
import { FromChild, type ToChild } from "./livekit-wire.ts";
import { relayLogs } from "./livekit-log-relay.ts";
import { MediaWriter } from "./media-pipe.ts";

/** How long the child may take to load rtc-node and say it is ready (measured: 0.3 s from a built bot, 1.1 s under tsx). */
const READY_WITHIN_MS = 20_000;
/** How long a process let go of may take to leave its calls and exit before it is killed. */
const EXIT_WITHIN_MS = 8_000;
const PASSED = ["LD_PRELOAD", "NODE_ENV"];
/** glibc's malloc settings, whichever the launcher sets (bin/matrix-camera-call): one list to keep, not two. */
const PASSED_PREFIX = "MALLOC_";

export interface CallChannel {
  readonly id: number;
  send(message: ToChild): void;
  /** Feeds `lease`'s camera to the call (one stream a camera in the process: camera-streams.ts) until stop(). */
  feed(lease: CameraLease, counts: SentCounts): { stop(): void };
  /** The call is done with the channel: its later messages are dropped. */
  close(): void;
}

export interface CallHandlers {
  message(m: FromChild): void;
  /** The process has gone (exited or crashed) while the call was open. */
  gone(reason: string): void;
}

export type ProcessStart = { ok: true; proc: LiveKitProcess } | { ok: false; reason: string; final: boolean };

/** The child's entry: the built JavaScript beside this file, or the TypeScript source under tsx (tests, `npm run dev`). */
function entry(): { file: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith(".ts");
  const file = here.replace(/livekit-process\.(ts|js)$/, ts ? "livekit-child.ts" : "livekit-child.js");
  // V8's young generation capped at 1 MB a semi-space: the process's own objects are few and short-lived (a frame's
  // request to rtc-node); with the default, its heap grew to 53 MB committed (23 MB used) and RSS started at 134 MB
  // instead of 102 (soak-matrixrtc, 36 calls, under tsx).
  const v8 = ["--max-semi-space-size=1"];
  return { file, args: ts ? [...v8, "--import", "tsx", file] : [...v8, file] };
}

export function liveKitChildEnv(env: NodeJS.ProcessEnv, level: string): NodeJS.ProcessEnv {
  const out = childEnv(env);
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && (PASSED.includes(name) || name.startsWith(PASSED_PREFIX))) out[name] = value;
  out["LOG_LEVEL"] = level;
  return out;
}

/** A message the process could not take: it has gone, and its exit tells the calls. */
function dropped(): void {
  // Nothing to do.
}

export class LiveKitProcess {
  private readonly calls = new Map<number, CallHandlers>();
  private readonly streams: CameraStreams;
  private nextId = 1;
  private exitReason: string | undefined;
  private readonly exited: Promise<void>;
  /** Calls started in this process, ended or not. */
  served = 0;
  readonly readyRssBytes: number | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly log: Logger,
  ) {
    this.streams = new CameraStreams(new MediaWriter(child.stdio[3] as Writable));
    (child.stdio[3] as Writable).on("error", () => undefined);
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        resolve();
      });
    });
    this.readyRssBytes = this.rssBytes();
  }

  /** Starts a process and waits until rtc-node has loaded in it; `final` when it cannot load here at all. */
  static start(log: Logger): Promise<ProcessStart> {
    const { args } = entry();
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe", "pipe", "ipc"],
      serialization: "advanced",
      env: liveKitChildEnv(process.env, log.level),
    });
    relayLogs(child, log);
    // A child's streams and the child itself report errors as events: unheard, one would end the bot.
    for (const stream of [child.stdout, child.stderr]) stream?.on("error", () => undefined);
    child.on("error", (err) => {
      log.debug({ err: errorMessage(err) }, "LiveKit process error");
    });
    return new Promise<ProcessStart>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        resolve({ ok: false, reason: `the LiveKit process did not start within ${String(READY_WITHIN_MS / 1000)} s`, final: false });
      }, READY_WITHIN_MS);
      const settle = (result: ProcessStart): void => {
        clearTimeout(timer);
        child.off("message", onFirst);
        resolve(result);
      };
      const onFirst = (raw: unknown): void => {
        const m = FromChild.safeParse(raw);
        if (m.success && m.data.t === "ready") settle({ ok: true, proc: new LiveKitProcess(child, log) });
        else if (m.success && m.data.t === "unavailable") settle({ ok: false, reason: m.data.reason, final: true });
      };
      child.on("message", onFirst);
      child.once("error", (err) => {
        settle({ ok: false, reason: `the LiveKit process could not start: ${errorMessage(err)}`, final: false });
      });
      child.once("exit", (code, signal) => {
        settle({ ok: false, reason: `the LiveKit process exited as it started (${signal ?? `code ${String(code)}`})`, final: false });
      });
    }).then((result) => {
      if (result.ok) result.proc.listen();
      return result;
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Calls open in this process now. */
  get activeCalls(): number {
    return this.calls.size;
  }

  get alive(): boolean {
    return this.exitReason === undefined;
  }

  /** The process's resident memory (Linux), for the host's wear check; undefined where it cannot be read. */
  rssBytes(): number | undefined {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${String(this.child.pid)}/status`, "utf8"))?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined;
    }
  }

  /** A channel for one call; a process that has gone tells the call at once (gone()). */
  open(handlers: CallHandlers): CallChannel {
    const id = this.nextId++;
    this.served++;
    if (this.exitReason !== undefined)
      queueMicrotask(() => {
        handlers.gone(this.exitReason ?? "gone");
      });
    else this.calls.set(id, handlers);
    const send = (message: ToChild): void => {
      // With a callback: a process that has just died fails the write (EPIPE) there, not as an 'error' event.
      if (this.calls.has(id) && this.child.connected) this.child.send(message, dropped);
    };
    // The stream the call is on: a channel closed while on one leaves it too, so no camera stays tapped for it.
    let joined: { leave(): void } | undefined;
    return {
      id,
      send,
      feed: (lease, counts) => {
        if (!this.calls.has(id)) return { stop: () => undefined };
        joined?.leave();
        const mine = this.streams.join(lease, counts);
        joined = mine;
        send({ t: "feed", id, stream: mine.stream });
        return {
          stop: () => {
            mine.leave();
            if (joined === mine) joined = undefined;
            send({ t: "feed", id, stream: null });
          },
        };
      },
      close: () => {
        joined?.leave();
        joined = undefined;
        this.calls.delete(id);
      },
    };
  }

  /** Lets the process go: it leaves the calls still in it and exits (killed if it has not within EXIT_WITHIN_MS). */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => {
      this.child.kill("SIGKILL");
    }, EXIT_WITHIN_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private listen(): void {
    this.child.on("message", (raw: unknown) => {
      const m = FromChild.safeParse(raw);
      if (!m.success) {
        this.log.warn({ err: m.error.message }, "a message from the LiveKit process that does not parse: ignored");
        return;
      }
      if ("id" in m.data) this.calls.get(m.data.id)?.message(m.data);
    });
    this.child.once("exit", (code, signal) => {
      this.exitReason =
        signal !== null ? `the LiveKit process was killed (${signal})` : `the LiveKit process exited (code ${String(code)})`;
      const open = [...this.calls.values()];
      this.calls.clear();
      this.streams.stopAll();
      if (open.length > 0) this.log.warn({ calls: open.length, reason: this.exitReason }, "the LiveKit process ended with calls in it");
      for (const call of open) call.gone(this.exitReason);
    });
  }
}
