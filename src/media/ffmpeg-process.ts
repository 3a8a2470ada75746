import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter, once } from "node:events";
import { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { redactSecrets, type Logger } from "../util/logger.ts";
import { MAX_LINE_CHARS } from "../util/redact.ts";
import { childEnv, gstEnv } from "./child-env.ts";
import { isGstProbeLine } from "./gst-front-end.ts";

/**
 * stderr held while waiting for a line's end. A longer run without a newline is cut: its first part is kept as
 * the line (then cut to MAX_LINE_CHARS after redaction), the rest up to the next newline is dropped.
 */
const MAX_PENDING_CHARS = 8192;

const noop = (): void => undefined;

/** How long an exit waits for the child's text outputs to be read to their end. */
const TEXT_DRAIN_MS = 500;

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when stop() asked it to end. */
  requested: boolean;
  /** The last stderr lines (credentials redacted), for error reports. */
  lastLines: string[];
}

interface FfmpegEvents {
  /** A log line from stderr (credentials redacted). */
  line: [text: string];
  /** A key=value line of ffmpeg's `-progress` report or a GStreamer lag probe line (not logged, not kept for error reports). */
  progress: [text: string];
  exit: [exit: FfmpegExit];
}

/** True for the key=value lines of ffmpeg's `-progress` report and the GStreamer front end's lag probe lines. */
export function isProgressLine(text: string): boolean {
  return /^[a-z_0-9]+=\S*$/.test(text) || isGstProbeLine(text);
}

/**
 * How a child's pipes are laid out. ffmpeg: video on stdout, audio on fd 3, log lines on stderr, `q` on stdin
 * ends it. gst-launch-1.0 (gst-front-end.ts): `-v` prints the negotiated caps (the output size) on stdout, so its
 * video goes to fd 3 and its audio to fd 4, both stdout and stderr are log lines (and the lag probe's progress
 * lines), it runs in the C locale (gstEnv), and SIGTERM ends it (it has nothing to flush and does not read stdin).
 */
export type ProcessLayout = "ffmpeg" | "gst-launch";

/** Every live FfmpegProcess, so a shutdown or a test can prove none is left behind. */
const live = new Set<FfmpegProcess>();
export function liveFfmpegCount(): number {
  return live.size;
}

/** SIGKILL to every live ffmpeg or gst-launch-1.0 (own process groups, so nothing else ends them). */
export function killAllFfmpeg(): number {
  let killed = 0;
  for (const proc of live) if (proc.kill()) killed++;
  return killed;
}

// However the process ends (a shutdown that overran its budget and was forced, process.exit, an uncaught
// exception), no ffmpeg (or gst-launch-1.0) outlives it: before this they lived on until a pipe write failed.
process.on("exit", killAllFfmpeg);

/**
 * The one owner of one ffmpeg (or gst-launch-1.0, per ProcessLayout) process: starts it without a shell, reads its
 * text output line by line (credentials redacted), and ends it with `q` (ffmpeg), then SIGTERM, then SIGKILL.
 */
export class FfmpegProcess extends EventEmitter<FfmpegEvents> {
  private child: ChildProcess | undefined;
  private exited: Promise<FfmpegExit> | undefined;
  private stopRequested = false;
  private readonly lastLines: string[] = [];
  /** One per text output read (stderr, and stdout for gst-launch): settles when it is closed. */
  private readonly textEnds: Promise<void>[] = [];

  constructor(
    private readonly binary: string,
    private readonly args: readonly string[],
    private readonly log: Logger,
    private readonly extraOutputs = 1,
    private readonly layout: ProcessLayout = "ffmpeg",
  ) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): { video: Readable; audio: Readable | undefined } {
    if (this.child) throw new Error("ffmpeg already started");
    const gst = this.layout === "gst-launch";
    const stdio: ("pipe" | "ignore")[] = ["pipe", "pipe", "pipe", ...Array<"pipe">(gst ? 2 : this.extraOutputs).fill("pipe")];
    // Its own process group: a Ctrl-C at the terminal reaches the bot, which ends ffmpeg itself.
    // Only the environment ffmpeg needs (child-env.ts): never the bot's tokens and passwords.
    const child = spawn(this.binary, this.args, { stdio, shell: false, detached: true, env: gst ? gstEnv() : childEnv() });
    this.child = child;
    live.add(this);
    this.log.debug({ pid: child.pid, binary: this.binary }, "camera front end started");

    this.exited = new Promise<FfmpegExit>((resolve) => {
      let settled = false;
      const settle = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        live.delete(this);
        // Every line the child wrote is read before its exit is told: gst-launch's caps line (stdout) came
        // after 'exit' under load, and the run ended without the codec it announced. Bounded: a pipe held
        // open by someone else must not hold the exit back.
        void Promise.race([Promise.all(this.textEnds), delay(TEXT_DRAIN_MS, undefined, { ref: false })]).then(() => {
          const exit = { code, signal, requested: this.stopRequested, lastLines: [...this.lastLines] };
          resolve(exit);
          this.emit("exit", exit);
        });
      };
      child.once("exit", settle);
      // A spawn that fails (ENOENT, EAGAIN) emits 'error' and 'close', never 'exit': without these it never
      // settled, so stop() and the pipeline's retry waited for ever.
      child.once("close", settle);
      child.once("error", (err) => {
        this.log.error({ err: err.message, binary: this.binary }, "camera front end could not be started");
        if (child.pid === undefined) settle(child.exitCode ?? -1, null);
      });
    });
    child.stdin?.on("error", () => {
      // ffmpeg may exit before it reads the `q`; a closed stdin is expected then.
    });

    this.readLines(child.stderr);
    if (gst) this.readLines(child.stdout);

    const video = gst ? child.stdio[3] : child.stdout;
    if (!(video instanceof Readable)) throw new Error("the child has no video pipe");
    const audio = child.stdio[gst ? 4 : 3];
    return { video, audio: audio instanceof Readable ? audio : undefined };
  }

  /** Reads log lines (credentials redacted, length bounded) from one of the child's text outputs. */
  private readLines(stream: Readable | null): void {
    // 'close' comes after the last 'data'; an error ends the wait as well.
    if (stream) this.textEnds.push(once(stream, "close").then(noop, noop));
    let pending = "";
    /** Dropping the rest of an over-long line, up to its newline. */
    let skipping = false;
    stream?.setEncoding("utf8");
    stream?.on("data", (data: string) => {
      pending += data;
      for (;;) {
        const nl = pending.search(/[\r\n]/);
        if (nl < 0 && pending.length <= MAX_PENDING_CHARS) break;
        const end = nl < 0 ? MAX_PENDING_CHARS : nl;
        const raw = pending.slice(0, end);
        pending = pending.slice(nl < 0 ? end : end + 1);
        const wasSkipping = skipping;
        skipping = nl < 0;
        if (wasSkipping) continue;
        // Progress lines (ffmpeg's key=value, GStreamer's lag probe: 25 a second per camera) carry no secret and are
        // never logged: no redaction for them.
        if (isProgressLine(raw)) {
          this.emit("progress", raw);
          continue;
        }
        // Redacted whole (linear, see redact.ts), then cut: a cut before redaction could leave half a password.
        const line = redactSecrets(raw, MAX_LINE_CHARS).trim();
        if (line === "") continue;
        this.lastLines.push(line);
        if (this.lastLines.length > 20) this.lastLines.shift();
        this.emit("line", line);
      }
    });
  }

  /** SIGKILL now, if it still runs; true when a signal was sent. */
  kill(): boolean {
    const child = this.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return false;
    return child.kill("SIGKILL");
  }

  /** Ends the process: `q` on stdin (gst-launch: SIGTERM at once), SIGTERM after `graceMs`, SIGKILL after as long again. Idempotent. */
  async stop(graceMs = 1000): Promise<FfmpegExit | undefined> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return undefined;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return exited;
    this.stopRequested = true;
    if (this.layout === "gst-launch") child.kill("SIGTERM");
    else if (child.stdin?.writable) child.stdin.end("q");
    const term = setTimeout(() => child.kill("SIGTERM"), graceMs);
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs * 2);
    try {
      return await exited;
    } finally {
      clearTimeout(term);
      clearTimeout(kill);
    }
  }
}
