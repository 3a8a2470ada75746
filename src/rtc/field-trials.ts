/**
 * libwebrtc's field trials for the bot's wrtc, which has no API for them (wrtc 0.10 never calls
 * `webrtc::field_trial::InitFieldTrialsFromString`). libwebrtc reads the trials from one static `const char*`,
 * `trials_init_string`, each time a component is built; this sets that pointer as the function would, through
 * /proc/self/mem: the variable's address from wrtc.node's own symbol table (elf-symbol.ts) plus the address the
 * loader put wrtc.node at (/proc/self/maps); the string in the unused tail of the page that ends wrtc.node's .bss
 * (mapped, writable, beyond every variable of the file). Every step is checked first: the symbol is an 8-byte
 * variable inside the writable segment, the mapped file is the one on disk (inode, first page), the variable is still
 * NULL (nothing set it), the tail is zero and no other segment's; the values are read back. Anything else leaves
 * libwebrtc as it was and says why. Only wrtc's libwebrtc: @livekit/rtc-node (MatrixRTC) has its own.
 *
 * Why (issue 14): libwebrtc paces video at 1.1 × the bandwidth estimate (`kStrictPacingMultiplier`), so a 19 KB
 * 720p frame leaves over ~26 ms on loopback and the receiver's jitter buffer grows with that spread. With
 * `WebRTC-Video-Pacing/factor:2.5/` (GoogCC's own pacing factor) `npm run bench -- --quick --only latency`, four runs
 * against three: spread 11.0–11.8 ms (25.0–26.4), glass-to-glass p50 83–90 ms (104–116) with the same bitrate
 * (3.8–3.9 Mbit/s), quantiser and 25 fps (docs/benchmark.md). The cost: bursts 2.3 × denser on the callee's path.
 * And the send caps of pictures the encode budget scaled down (sdp-bitrate.ts smallerPictureCaps says why).
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { readAt, readElfSymbol } from "./elf-symbol.ts";
import { smallerPictureCaps } from "./sdp-bitrate.ts";
import "./wrtc.ts";

export const TRIALS_SYMBOL = "_ZN6webrtc11field_trialL18trials_init_stringE";
const PAGE = 4096n;

export type TrialsOutcome = { applied: true } | { applied: false; why: string };

/** libwebrtc's own pacing factor for video (`kStrictPacingMultiplier`). */
export const LIBWEBRTC_VIDEO_PACING = 1.1;

/** The trial string for a video pacing factor. */
export function pacingTrials(factor: number): string {
  return `WebRTC-Video-Pacing/factor:${String(factor)}/`;
}

/** The bot's trials: the video pacing factor (none for libwebrtc's own 1.1) and the caps of smaller pictures. */
export function videoTrials(pacingFactor: number): string {
  return (pacingFactor === LIBWEBRTC_VIDEO_PACING ? "" : pacingTrials(pacingFactor)) + smallerPictureCaps();
}

/** Sets the bot's trials (videoTrials) in wrtc's libwebrtc. */
export function applyVideoTrials(pacingFactor: number): TrialsOutcome {
  return applyFieldTrials(videoTrials(pacingFactor));
}

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  inode: number;
  path: string;
}

function mappings(): Mapping[] {
  return readFileSync("/proc/self/maps", "utf8")
    .split("\n")
    .flatMap((line) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ (\d+)\s*(.*)$/.exec(line);
      if (m === null) return [];
      const [, start = "0", end = "0", perms = "", offset = "0", inode = "0", path = ""] = m;
      return [{ start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), perms, offset: BigInt(`0x${offset}`), inode: Number(inode), path }];
    });
}

/**
 * Sets libwebrtc's field trials to `trials` (e.g. "WebRTC-Video-Pacing/factor:2.5/"), once per process, before the
 * first peer connection (libwebrtc reads the string as it builds each component).
 */
export function applyFieldTrials(trials: string): TrialsOutcome {
  if (process.platform !== "linux") return { applied: false, why: `not on Linux (${process.platform})` };
  if (!/^([\w.-]+\/[^/]+\/)+$/.test(trials)) return { applied: false, why: `not a field trial string: ${trials}` };
  try {
    const maps = mappings();
    if (maps.some((m) => m.path.endsWith("/wrtc.node (deleted)")))
      return { applied: false, why: "wrtc.node was replaced on disk after it was loaded" };
    const first = maps.find((m) => m.path.endsWith("/wrtc.node") && m.offset === 0n);
    if (first === undefined) return { applied: false, why: "wrtc.node is not loaded" };
    if (statSync(first.path).ino !== first.inode) return { applied: false, why: `${first.path} is not the file that is loaded` };
    const { segments, symbol, firstPage } = readElfSymbol(first.path, TRIALS_SYMBOL);
    if (symbol === undefined) return { applied: false, why: `${first.path} has no symbol ${TRIALS_SYMBOL} (another build of wrtc?)` };
    const seg0 = segments.find((s) => s.offset === 0n);
    if (seg0 === undefined) return { applied: false, why: "wrtc.node has no segment at file offset 0" };
    // The load bias: where the loader put address 0 of the file's own addresses.
    const bias = first.start - (seg0.vaddr & ~(PAGE - 1n));
    const rw = segments.find((s) => s.writable && symbol.value >= s.vaddr && symbol.value + 8n <= s.vaddr + s.memsz);
    if (!symbol.isObject || symbol.size !== 8n || rw === undefined) return { applied: false, why: "the symbol is not a pointer variable" };
    const text = Buffer.from(`${trials}\0`);
    const tail = rw.vaddr + rw.memsz;
    const at = bias + ((tail + 7n) & ~7n);
    const pageEnd = bias + ((tail + PAGE - 1n) & ~(PAGE - 1n));
    const variable = bias + symbol.value;
    const writable = (from: bigint, to: bigint): boolean => maps.some((m) => m.perms.startsWith("rw") && m.start <= from && to <= m.end);
    const othersInTail = segments.some((s) => s !== rw && bias + s.vaddr < pageEnd && bias + s.vaddr + s.memsz > bias + tail);
    if (at + BigInt(text.length) > pageEnd || othersInTail || !writable(at, at + BigInt(text.length)))
      return { applied: false, why: "no room for the string after wrtc.node's .bss" };
    if (!writable(variable, variable + 8n) || pageEnd >= 1n << 53n) return { applied: false, why: "the symbol's page is not writable" };
    return writeTrials({ start: first.start, page: firstPage }, variable, at, text);
  } catch (err: unknown) {
    return { applied: false, why: err instanceof Error ? err.message : String(err) };
  }
}

function writeTrials(first: { start: bigint; page: Buffer }, variable: bigint, at: bigint, text: Buffer): TrialsOutcome {
  const fd = openSync("/proc/self/mem", "r+");
  try {
    const read = (where: bigint, length: number): Buffer => readAt(fd, where, length);
    // The mapped first page is the file's: the addresses computed from the file are this process's.
    if (!read(first.start, first.page.length).equals(first.page))
      return { applied: false, why: "wrtc.node in memory differs from the file" };
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
