/**
 * CPU and memory of processes, from /proc (Linux). CPU is utime+stime; memory is resident set size.
 * Used by the benchmark and by the tests that look for processes left behind.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();
const PAGE_SIZE = (() => {
  try {
    const n = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 4096;
  } catch {
    return 4096;
  }
})();

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, seconds. */
  cpuS: number;
  rssBytes: number;
}

export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < 0) return undefined;
  const comm = text.slice(open + 1, close);
  // Fields after the comm, starting with field 3 (state) at index 0.
  const f = text.slice(close + 2).split(" ");
  const ppid = Number(f[1]);
  const utime = Number(f[11]);
  const stime = Number(f[12]);
  const rss = Number(f[21]);
  return { pid, comm, ppid, cpuS: (utime + stime) / CLK_TCK, rssBytes: rss * PAGE_SIZE };
}

/** The command names of the programs that read a camera for the bot (its front ends: src/media/front-end.ts). */
export const FRONT_ENDS = ["ffmpeg", "gst-launch-1.0"] as const;

/** Children of `ppid` whose command name is `comm` or one of them (e.g. the bot's FRONT_ENDS). */
export function childrenNamed(ppid: number, comm: string | readonly string[]): number[] {
  const names: readonly string[] = typeof comm === "string" ? [comm] : comm;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const st = readProcStat(Number(name));
    if (st !== undefined && st.ppid === ppid && names.includes(st.comm)) out.push(st.pid);
  }
  return out;
}

/** A process's argv as the kernel has it (one entry per argument); undefined once it has ended. */
export function readArgv(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch {
    return undefined; // it ended
  }
}

/** A group of processes measured together: fixed pids plus a dynamic set (e.g. ffmpeg children found at each sample). */
export interface ProcGroup {
  name: string;
  pids(): number[];
}

export interface GroupUsage {
  /** Mean CPU over the window, percent of one core. */
  cpuPct: number;
  /** Mean and max of the summed RSS over the samples, MB (10^6 bytes). */
  rssMeanMB: number;
  rssMaxMB: number;
  /** Processes seen in the group (max over samples). */
  processes: number;
}

/**
 * Measures groups over a window: CPU from utime+stime deltas between the first and last sample (a process that
 * appears mid-window counts from zero; one that exits mid-window loses its last interval), RSS sampled every
 * `intervalMs`.
 */
export class UsageWindow {
  private readonly first = new Map<string, Map<number, number>>();
  private readonly last = new Map<string, Map<number, number>>();
  private readonly rss = new Map<string, number[]>();
  private readonly counts = new Map<string, number>();
  private readonly started = performance.now();
  private ended: number | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly groups: readonly ProcGroup[],
    intervalMs = 1000,
  ) {
    this.sample(true);
    this.timer = setInterval(() => {
      this.sample(false);
    }, intervalMs);
  }

  private sample(initial: boolean): void {
    for (const g of this.groups) {
      const cpu = new Map<number, number>();
      let rss = 0;
      const pids = g.pids();
      for (const pid of pids) {
        const st = readProcStat(pid);
        if (!st) continue;
        cpu.set(pid, st.cpuS);
        rss += st.rssBytes;
      }
      if (initial) this.first.set(g.name, cpu);
      else {
        const prev = this.last.get(g.name) ?? new Map<number, number>();
        for (const [pid, s] of cpu) prev.set(pid, s);
        this.last.set(g.name, prev);
      }
      const list = this.rss.get(g.name) ?? [];
      list.push(rss);
      this.rss.set(g.name, list);
      this.counts.set(g.name, Math.max(this.counts.get(g.name) ?? 0, cpu.size));
    }
  }

  stop(): Record<string, GroupUsage> {
    if (this.ended === undefined) {
      this.sample(false);
      clearInterval(this.timer);
      this.ended = performance.now();
    }
    const seconds = (this.ended - this.started) / 1000;
    const out: Record<string, GroupUsage> = {};
    for (const g of this.groups) {
      const first = this.first.get(g.name) ?? new Map<number, number>();
      const last = this.last.get(g.name) ?? new Map<number, number>();
      let cpuS = 0;
      for (const [pid, s] of last) cpuS += s - (first.get(pid) ?? 0);
      const rss = this.rss.get(g.name) ?? [];
      const mean = rss.length > 0 ? rss.reduce((a, b) => a + b, 0) / rss.length : 0;
      out[g.name] = {
        cpuPct: seconds > 0 ? (100 * cpuS) / seconds : 0,
        rssMeanMB: mean / 1e6,
        rssMaxMB: Math.max(0, ...rss) / 1e6,
        processes: this.counts.get(g.name) ?? 0,
      };
    }
    return out;
  }
}
