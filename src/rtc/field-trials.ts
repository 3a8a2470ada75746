/**
 * libwebrtc's field trials for the bot's wrtc, which has no API for them (wrtc 0.10 never calls
 * `webrtc::field_trial::InitFieldTrialsFromString`). libwebrtc reads the trials from one static `const char*`,
 * `trials_init_string`, each time a component is built; this sets that pointer as the function would, through
 * /proc/self/mem: the variable's address from wrtc.node's own symbol table (elf-symbol.ts) plus the address the
 * loader put wrtc.node at (/proc/self/maps); the string in the unused tail of the page that ends wrtc.node's .bss
 * (mapped, writable, beyond every variable of the file). Every step is checked first: the symbol is an 8-byte
 * variable inside the writable segment, it is still NULL (nothing set it), the tail is zero; the values are read back.
 * Anything else leaves the process untouched and says why.
 *
 * Why (issue 14): libwebrtc paces video at 1.1 × the bandwidth estimate (`kStrictPacingMultiplier`), so a 19 KB
 * 720p frame leaves over ~26 ms on loopback and the receiver's jitter buffer grows with that spread. With
 * `WebRTC-Video-Pacing/factor:2.5/` (GoogCC's own pacing factor) `npm run bench -- --quick --only latency`, four runs
 * against three: spread 11.0–11.8 ms (25.0–26.4), glass-to-glass p50 83–90 ms (104–116) with the same bitrate
 * (3.8–3.9 Mbit/s), quantiser and 25 fps (docs/benchmark.md). The cost: bursts 2.3 × denser on the callee's path.
 */
import { closeSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { readElfSymbol } from "./elf-symbol.ts";
import "./wrtc.ts";

export const TRIALS_SYMBOL = "_ZN6webrtc11field_trialL18trials_init_stringE";
const PAGE = 4096n;

export type TrialsOutcome = { applied: true } | { applied: false; why: string };

/** The trial string for a video pacing factor (libwebrtc's own for video: 1.1). */
export function pacingTrials(factor: number): string {
  return `WebRTC-Video-Pacing/factor:${String(factor)}/`;
}

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  path: string;
}

function mappings(): Mapping[] {
  return readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .flatMap((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
      if (m === null) return [];
      const [, start = "0", end = "0", perms = "", offset = "0", path = ""] = m;
      return [{ start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms, offset: BigInt(`0x${offset}`), path }];
    });
}

/** Sets libwebrtc's field trials to `trials` (e.g. "WebRTC-Video-Pacing/factor:2.5/"), once per process. */
export function applyFieldTrials(trials: string): TrialsOutcome {
  if (process.platform !== "linux") return { applied: false, why: `not on Linux (${process.platform})` };
  if (!/^([\w.-]+\/[^/]+\/)+$/.test(trials)) return { applied: false, why: `not a field trial string: ${trials}` };
  try {
    const maps = mappings();
    const first = maps.find((m) => m.path.endsWith("/wrtc.node") && m.offset === 0n);
    if (first === undefined) return { applied: false, why: "wrtc.node is not loaded" };
    const base = first.start;
    const { segments, symbol } = readElfSymbol(first.path, TRIALS_SYMBOL);
    if (symbol === undefined) return { applied: false, why: `${first.path} has no symbol ${TRIALS_SYMBOL} (another build of wrtc?)` };
    const rw = segments.find((s) => s.writable && symbol.value >= s.vaddr && symbol.value + 8n <= s.vaddr + s.memsz);
    if (!symbol.isObject || symbol.size !== 8n || rw === undefined) return { applied: false, why: "the symbol is not a pointer variable" };
    const text = Buffer.from(`${trials}\0`);
    const segmentEnd = base + rw.vaddr + rw.memsz;
    const at = (segmentEnd + 7n) & ~7n;
    const pageEnd = (segmentEnd + PAGE - 1n) & ~(PAGE - 1n);
    const mapped = maps.some((m) => m.perms.startsWith("rw") && m.start <= at && at + BigInt(text.length) <= m.end);
    if (at + BigInt(text.length) > pageEnd || !mapped) return { applied: false, why: "no room for the string after wrtc.node's .bss" };
    return writeTrials(base + symbol.value, at, text);
  } catch (err: unknown) {
    return { applied: false, why: err instanceof Error ? err.message : String(err) };
  }
}

function writeTrials(variable: bigint, at: bigint, text: Buffer): TrialsOutcome {
  const fd = openSync("/proc/self/mem", "r+");
  try {
    const read = (where: bigint, length: number): Buffer => {
      const buf = Buffer.alloc(length);
      readSync(fd, buf, 0, length, where);
      return buf;
    };
    const current = read(variable, 8).readBigUInt64LE(0);
    if (current === at && read(at, text.length).equals(text)) return { applied: true };
    if (current !== 0n) return { applied: false, why: "libwebrtc's field trials are set already" };
    if (read(at, text.length).some((b) => b !== 0)) return { applied: false, why: "the space after wrtc.node's .bss is in use" };
    writeSync(fd, text, 0, text.length, Number(at));
    const pointer = Buffer.alloc(8);
    pointer.writeBigUInt64LE(at);
    writeSync(fd, pointer, 0, 8, Number(variable));
    const ok = read(variable, 8).equals(pointer) && read(at, text.length).equals(text);
    return ok ? { applied: true } : { applied: false, why: "the values did not read back" };
  } finally {
    closeSync(fd);
  }
}
