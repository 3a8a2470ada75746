import { spawn, type ChildProcess } from "node:child_process";
import type { ExecTalkback } from "../config/talkback-schema.ts";
import { type Logger } from "../util/logger.ts";
import { FrameEncoder } from "./encode.ts";
import type { TalkbackOutput } from "./output.ts";

/** Audio queued on the command's stdin beyond this (about 1 s at 48 kHz s16le) is dropped, not buffered. */
const MAX_QUEUED_BYTES = 96_000;
/** After stdin closes, the command gets this long to exit before SIGTERM, and as long again before SIGKILL. */
const EXIT_GRACE_MS = 2_000;
const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;

/**
 * `talkback: { exec: [...] }`: runs the argv (no shell) with only PATH in its environment (nothing of the bot's —
 * tokens, passwords — reaches it), and writes the call's audio to its stdin in the configured format and rate.
 * It is started with the first connected call of the camera and its stdin is closed with the last. A command that
 * exits while calls go on is started again (backing off to 30 s); one that reads too slowly loses audio, not memory.
 */
export class ExecOutput implements TalkbackOutput {
  readonly describe: string;
  private child: ChildProcess | undefined;
  private readonly encoder: FrameEncoder;
  private closed = false;
  private restartMs = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  private droppedLogged = false;

  constructor(
    private readonly cfg: ExecTalkback,
    private readonly log: Logger,
  ) {
    this.describe = `exec ${cfg.format}/${cfg.rate}`;
    this.encoder = new FrameEncoder(cfg.format, cfg.rate);
    this.start();
  }

  private start(): void {
    const [command, ...args] = this.cfg.exec;
    if (command === undefined) return;
    const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin" };
    const child = spawn(command, args, { env, stdio: ["pipe", "ignore", "pipe"] });
    this.child = child;
    const startedAt = performance.now();
    child.stdin.on("error", (err) => {
      this.log.debug({ err }, "talkback command's stdin closed");
    });
    let stderrLines = 0;
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      // A chatty command must not flood the log: its first lines only.
      if (stderrLines >= 20) return;
      for (const line of text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .slice(0, 20 - stderrLines)) {
        stderrLines++;
        this.log.info({ line: line.slice(0, 500) }, "talkback command says");
      }
    });
    child.once("error", (err) => {
      this.log.warn({ command, err }, "could not start the talkback command");
    });
    child.once("close", (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (this.closed) {
        this.log.debug({ code, signal }, "talkback command ended");
        return;
      }
      // Ran for a while: a fresh failure; died at once: back off further.
      this.restartMs = performance.now() - startedAt > 10_000 ? RESTART_MIN_MS : Math.min(RESTART_MAX_MS, this.restartMs * 2);
      this.log.warn({ command, code, signal, retryInMs: this.restartMs }, "the talkback command exited during a call; starting it again");
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.closed) this.start();
      }, this.restartMs);
    });
    this.log.info({ command, format: this.cfg.format, rate: this.cfg.rate }, "talkback command started");
  }

  write(frame: Int16Array): void {
    const bytes = this.encoder.encode(frame);
    const stdin = this.child?.stdin;
    if (this.closed || !stdin || stdin.destroyed || !stdin.writable) return;
    if (stdin.writableLength > MAX_QUEUED_BYTES) {
      if (!this.droppedLogged) this.log.warn("the talkback command reads too slowly: audio is being dropped");
      this.droppedLogged = true;
      return;
    }
    stdin.write(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    child.stdin?.end();
    const term = setTimeout(() => child.kill("SIGTERM"), EXIT_GRACE_MS);
    const kill = setTimeout(() => child.kill("SIGKILL"), EXIT_GRACE_MS * 2);
    child.once("close", () => {
      clearTimeout(term);
      clearTimeout(kill);
    });
  }
}
