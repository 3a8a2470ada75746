/**
 * Which LiveKit process (livekit-process.ts) a MatrixRTC call runs in, and when a process is replaced.
 *
 * rtc-node 1.1 keeps ~0.45 MB of native memory for every call (soak-matrixrtc: 429 kB a call over calls 26-80;
 * bench/rtc-node-rooms.ts: 446 kB a Room with rtc-node alone). In the bot's own process that added up for good: a
 * month of ten calls a day is 135 MB. So the calls run in a process of their own, and once it has served
 * RETIRE_AFTER_CALLS calls or grown RETIRE_ABOVE_GROWTH_BYTES past its start, the first moment it has no call it is let
 * go and a fresh one started (ready before the next call, as the old one was: rtc-node stays loaded between calls,
 * as it did in the bot). A process that crashed is replaced by the next call.
 *
 * The first MatrixRTC call starts the first process (loading rtc-node took that call's time before too); a platform
 * without rtc-node is found then and remembered (`final`), as loadRtcNode remembers it.
 */
import type { Logger } from "../util/logger.ts";
import { LiveKitProcess, type ProcessStart } from "./livekit-process.ts";

/** 40 calls are ~18 MB of rtc-node's leak; starting a process again costs ~0.3 s of one core, between calls. */
export const RETIRE_AFTER_CALLS = 40;
/** Growth that retires a process sooner: anything beyond rtc-node's known share. */
export const RETIRE_ABOVE_GROWTH_BYTES = 64 * 1024 * 1024;

export interface LiveKitHostOptions {
  retireAfterCalls?: number;
  retireAboveGrowthBytes?: number;
}

export class LiveKitHost {
  private current: Promise<ProcessStart> | undefined;
  /** rtc-node cannot load here: every call gets this reason. */
  private unavailable: string | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private stopped = false;
  /** Processes started so far (the soak test reads it). */
  started = 0;

  constructor(
    private readonly log: Logger,
    private readonly opts: LiveKitHostOptions = {},
  ) {}

  /** The process for a new call: the current one, or a new one when there is none or it has gone. */
  async acquire(): Promise<{ ok: true; proc: LiveKitProcess } | { ok: false; reason: string }> {
    if (this.unavailable !== undefined) return { ok: false, reason: this.unavailable };
    if (this.stopped) return { ok: false, reason: "shutting down" };
    let result = await this.startIfNeeded();
    if (result.ok && !result.proc.alive) {
      this.current = undefined;
      result = await this.startIfNeeded();
    }
    if (result.ok) return result;
    if (result.final) this.unavailable = result.reason;
    else this.current = undefined;
    return { ok: false, reason: result.reason };
  }

  /** A call in `proc` has ended: a worn process with no call left is let go, and its successor started. */
  callEnded(proc: LiveKitProcess): void {
    if (proc.activeCalls > 0 || this.stopped || !this.worn(proc)) return;
    void this.current?.then((c) => {
      if (!c.ok || c.proc !== proc) return;
      this.log.info(
        { calls: proc.served, rssMB: mb(proc.rssBytes()) },
        "replacing the LiveKit process (rtc-node keeps memory for every call)",
      );
      this.current = undefined;
      this.retire(proc);
      void this.startIfNeeded();
    });
  }

  /** Shutdown: no new process, every process let go (after the calls have ended). */
  async stop(): Promise<void> {
    this.stopped = true;
    const current = await this.current;
    this.current = undefined;
    if (current?.ok === true) this.retire(current.proc);
    await Promise.all(this.retiring);
  }

  /** The pid of the current process, if it is running (the bench counts it with the bot). */
  async pid(): Promise<number | undefined> {
    const c = await this.current;
    return c?.ok === true && c.proc.alive ? c.proc.pid : undefined;
  }

  private worn(proc: LiveKitProcess): boolean {
    if (!proc.alive) return true;
    if (proc.served >= (this.opts.retireAfterCalls ?? RETIRE_AFTER_CALLS)) return true;
    const now = proc.rssBytes();
    const start = proc.readyRssBytes;
    return now !== undefined && start !== undefined && now - start > (this.opts.retireAboveGrowthBytes ?? RETIRE_ABOVE_GROWTH_BYTES);
  }

  private startIfNeeded(): Promise<ProcessStart> {
    if (this.current === undefined) {
      this.started++;
      this.current = LiveKitProcess.start(this.log);
    }
    return this.current;
  }

  private retire(proc: LiveKitProcess): void {
    const done = proc.stop().finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }
}

function mb(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / 1e5) / 10;
}
