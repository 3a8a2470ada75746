/**
 * The soak test's memory figures of a bot process (bot-process.ts): one sample after a full GC in the bot, and the
 * least-squares lines (trend.ts) through the samples of a window of the run, one per figure.
 */
import type { BotProcess } from "./bot-process.ts";
import { fitWindow, medianSlope, type Line } from "./trend.ts";

export interface Memory {
  /** Resident set (VmRSS). */
  rssKb: number;
  fds: number;
  /** V8 heap in use. */
  heapKb: number;
  /** Of which compiled code and bytecode: it grows while functions are compiled and tier up, up to the program's size. */
  codeKb: number;
  /** V8 heap pages resident (all spaces): the rest of RSS is native (wrtc, libvpx, glibc's arenas, the binaries). */
  v8ResidentKb: number;
  /** Memory JS objects hold outside the V8 heap (Buffers, ArrayBuffers), as V8 accounts it. */
  externalKb: number;
}

const CODE_SPACES = new Set(["code_space", "code_large_object_space", "trusted_space", "trusted_large_object_space"]);

/** A full GC in the bot, then its figures. */
export async function readMemory(bot: BotProcess): Promise<Memory> {
  const usage = await bot.gc();
  const spaces = Object.entries(usage.spaces);
  const kb = (bytes: number): number => Math.round(bytes / 1024);
  return {
    ...bot.memory(),
    heapKb: kb(usage.heapUsed),
    codeKb: kb(spaces.filter(([name]) => CODE_SPACES.has(name)).reduce((sum, [, s]) => sum + s.used, 0)),
    v8ResidentKb: kb(spaces.reduce((sum, [, s]) => sum + s.physical, 0)),
    externalKb: kb(usage.external),
  };
}

export interface MemoryLines {
  rss: Line;
  /** RSS's Theil–Sen slope (trend.ts): one sample far off does not carry it. */
  rssMedianSlope: number;
  /** RSS without the V8 heap's resident pages. */
  native: Line;
  /** Its Theil–Sen slope. */
  nativeMedianSlope: number;
  heap: Line;
  code: Line;
  /** JS objects: the heap without compiled code, which a leak of objects or closures grows. */
  heapObjects: Line;
  external: Line;
  fds: Line;
}

/** The lines through the samples taken after `from` to `to` calls (inclusive). */
export function memoryLines(samples: readonly (Memory & { call: number })[], from: number, to: number): MemoryLines {
  const fit = (y: (m: Memory) => number): Line =>
    fitWindow(
      samples.map((s) => ({ x: s.call, y: y(s) })),
      from,
      to,
    );
  return {
    rss: fit((m) => m.rssKb),
    rssMedianSlope: medianSlope(samples.filter((s) => s.call >= from && s.call <= to).map((s) => ({ x: s.call, y: s.rssKb }))),
    native: fit((m) => m.rssKb - m.v8ResidentKb),
    nativeMedianSlope: medianSlope(
      samples.filter((s) => s.call >= from && s.call <= to).map((s) => ({ x: s.call, y: s.rssKb - s.v8ResidentKb })),
    ),
    heap: fit((m) => m.heapKb),
    code: fit((m) => m.codeKb),
    heapObjects: fit((m) => m.heapKb - m.codeKb),
    external: fit((m) => m.externalKb),
    fds: fit((m) => m.fds),
  };
}
