/**
 * Which LiveKit process (livekit-process.ts) a MatrixRTC call runs in, and when a process is let go.
 *
 * rtc-node 1.1 keeps ~0.45 MB of native memory for every call (soak-matrixrtc: 429 kB a call over calls 26-80;
 * bench/rtc-node-rooms.ts: 446 kB a Room with rtc-node alone). In the bot's own process that added up for good: a
 * month of ten calls a day is 135 MB. So the calls run in a process of their own, let go the first moment it has no
 * call once it has served RETIRE_AFTER_CALLS calls or grown RETIRE_ABOVE_GROWTH_BYTES past its start, and after
 * IDLE_MS without a call (a LiveKit process with rtc-node loaded is 86 MB, which the bot held for good before).
 * The next call starts a new one: 0.28 s from a built bot, while the call's ring goes out (rtc-calls.ts).
 *
 * A platform without rtc-node is found by the first process and remembered (`unavailableReason`), as loadRtcNode
 * remembers it: later calls are refused before they ring.
 */
import type { Logger } from "../util/logger.ts";
import { LiveKitProcess, type CallChannel, type CallHandlers, type ProcessStart } from "./livekit-process.ts";

/** 40 calls are ~18 MB of rtc-node's leak; starting a process again costs ~0.3 s of one core. */
export const RETIRE_AFTER_CALLS = 40;
/**
 * Growth that retires a process sooner: anything well beyond what a process grows by over its RETIRE_AFTER_CALLS
 * calls (soak-matrixrtc, 36 calls in a row: 102 → 146 MB, V8 committing heap and rtc-node's share).
 */
export const RETIRE_ABOVE_GROWTH_BYTES = 128 * 1024 * 1024;
/** A process with no call for this long is let go (a doorbell rings a few times a day). */
export const IDLE_MS = 10 * 60_000;

export interface LiveKitHostOptions {
  retireAfterCalls?: number;
  retireAboveGrowthBytes?: number;
  idleMs?: number;
}

export type Opened = { ok: true; channel: CallChannel } | { ok: false; reason: string };

export class LiveKitHost {
  private current: Promise<ProcessStart> | undefined;
  /** The current process once it is ready: what a call's channel is opened in, and what is let go. */
  private ready: LiveKitProcess | undefined;
  /** rtc-node cannot load here: every call gets this reason. */
  private unavailable: string | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private stopped = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly opts: LiveKitHostOptions = {},
  ) {}

  /** The current process's resident memory (0 while none runs, or where it cannot be read). */
  residentBytes(): number {
    return this.ready?.alive === true ? (this.ready.rssBytes() ?? 0) : 0;
  }

  /** Why no MatrixRTC call can run here, once a process has found rtc-node missing. */
  unavailableReason(): string | undefined {
    return this.unavailable;
  }

  /**
   * A channel for a new call in the current process, or a new one when there is none or it has gone. The channel is
   * opened in the same step that finds the process ready, so a process being let go is never handed out; closing
   * it tells the host the call is over there.
   */
  async open(handlers: CallHandlers): Promise<Opened> {
    clearTimeout(this.idleTimer);
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.unavailable !== undefined) return { ok: false, reason: this.unavailable };
      if (this.stopped) return { ok: false, reason: "shutting down" };
      const starting = this.startIfNeeded();
      const result = await starting;
      if (!result.ok) {
        if (result.final) this.unavailable = result.reason;
        else if (this.current === starting) this.current = undefined;
        return { ok: false, reason: result.reason };
      }
      const proc = result.proc;
      if (proc.alive && this.ready === proc) {
        const channel = proc.open(handlers);
        return {
          ok: true,
          channel: {
            ...channel,
            close: () => {
              channel.close();
              this.callEnded(proc);
            },
          },
        };
      }
      // It crashed, or was let go while this call waited for it: a new one.
      if (this.current === starting) this.current = undefined;
    }
    return { ok: false, reason: "the LiveKit process ended as it started" };
  }

  /** A call in `proc` has ended: a worn process with no call left is let go now, any other after IDLE_MS without one. */
  private callEnded(proc: LiveKitProcess): void {
    if (proc.activeCalls > 0 || this.stopped) return;
    if (this.worn(proc)) {
      this.letGo(proc, "worn (rtc-node keeps memory for every call)");
      return;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.letGo(proc, "idle");
    }, this.opts.idleMs ?? IDLE_MS);
    this.idleTimer.unref();
  }

  /** Shutdown: no new process, every process let go (after the calls have ended). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.idleTimer);
    await this.current;
    this.current = undefined;
    if (this.ready !== undefined) this.retire(this.ready);
    this.ready = undefined;
    await Promise.all(this.retiring);
  }

  private worn(proc: LiveKitProcess): boolean {
    if (!proc.alive) return true;
    if (proc.served >= (this.opts.retireAfterCalls ?? RETIRE_AFTER_CALLS)) return true;
    const now = proc.rssBytes();
    const start = proc.readyRssBytes;
    return now !== undefined && start !== undefined && now - start > (this.opts.retireAboveGrowthBytes ?? RETIRE_ABOVE_GROWTH_BYTES);
  }

  private startIfNeeded(): Promise<ProcessStart> {
    this.current ??= LiveKitProcess.start(this.log).then((result) => {
      if (result.ok) this.ready = result.proc;
      return result;
    });
    return this.current;
  }

  /** Lets `proc` go if it is still the current process and has no call (one may have started meanwhile). */
  private letGo(proc: LiveKitProcess, why: string): void {
    if (this.ready !== proc || proc.activeCalls > 0) return;
    this.log.info({ why, calls: proc.served, rssMB: mb(proc.rssBytes()) }, "letting the LiveKit process go");
    this.ready = undefined;
    this.current = undefined;
    this.retire(proc);
  }

  private retire(proc: LiveKitProcess): void {
    const done = proc.stop().finally(() => this.retiring.delete(done));
    this.retiring.add(done);
  }
}

function mb(bytes: number | undefined): number | undefined {
  return bytes === undefined ? undefined : Math.round(bytes / 1e5) / 10;
}
