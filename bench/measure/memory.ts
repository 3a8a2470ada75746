/**
 * Where the bot process's resident memory is (issue 14 item 4: memory per call), from /proc/<pid>/smaps and the
 * V8 figures of process.memoryUsage() (the bot runs in the bench process). Each mapping's Rss goes to one class:
 *
 * - `code`: file-backed mappings (node, wrtc.node, libraries).
 * - `brk`: glibc's main arena ([heap]): malloc from the main thread (V8's off-heap, Buffers under the mmap threshold).
 * - `arenas`: glibc's per-thread arenas: anonymous heaps of 64 MiB reserved at a 64 MiB boundary (HEAP_MAX_SIZE on
 *   64-bit), the used part readable and writable, the rest PROT_NONE. Threads that are not the main one (libwebrtc's
 *   encoder, pacer and network threads) malloc here; with glibc's default up to 8 arenas per core.
 * - `stacks`: thread stacks: writable anonymous mappings right after a PROT_NONE guard page.
 * - `anon`: every other anonymous mapping: the V8 heap, mmap'ed malloc chunks above the mmap threshold (frame
 *   buffers), libvpx's large calloc'ed tables.
 *
 * `v8Heap` (committed V8 heap) and `external` are process.memoryUsage()'s, in the process they are read in.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface MemoryBreakdown {
  /** MB (10^6 bytes) of Rss per class; they add up to the process's Rss. */
  rssMB: number;
  code: number;
  brk: number;
  arenas: number;
  /** How many arena heaps (64 MiB reservations) are mapped. */
  arenaHeaps: number;
  stacks: number;
  anon: number;
  v8Heap?: number;
  external?: number;
  /** Threads of the process (libwebrtc starts some per call: encoder, pacer, audio encoder). */
  threads?: number;
}

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  path: string;
  rssKB: number;
}

const ARENA_BYTES = 64n * 1024n * 1024n;
const GUARD_MAX = 64n * 1024n;

/** The mappings of a smaps text (address range, permissions, path, Rss). */
export function parseSmaps(text: string): Mapping[] {
  const maps: Mapping[] = [];
  let cur: Mapping | undefined;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      cur = {
        start: BigInt(`0x${head[1] ?? "0"}`),
        end: BigInt(`0x${head[2] ?? "0"}`),
        perms: head[3] ?? "",
        path: (head[4] ?? "").trim(),
        rssKB: 0,
      };
      maps.push(cur);
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && cur) cur.rssKB = Number(rss[1]);
  }
  return maps;
}

/** Sorts each mapping's Rss into the classes above. */
export function classifySmaps(text: string): MemoryBreakdown {
  const maps = parseSmaps(text);
  const kb = { code: 0, brk: 0, arenas: 0, stacks: 0, anon: 0 };
  let arenaHeaps = 0;
  // The end of the 64 MiB reservation of the arena heap being walked (its rw part and PROT_NONE tail).
  let arenaEnd = -1n;
  for (let i = 0; i < maps.length; i++) {
    const m = maps[i];
    if (!m) continue;
    const prev = i > 0 ? maps[i - 1] : undefined;
    if (m.path === "[heap]") kb.brk += m.rssKB;
    else if (m.path === "[stack]") kb.stacks += m.rssKB;
    else if (!isAnon(m)) kb.code += m.rssKB;
    else if (m.start < arenaEnd) kb.arenas += m.rssKB;
    else if (m.start % ARENA_BYTES === 0n && m.perms.startsWith("rw") && arenaReservation(maps, i)) {
      arenaHeaps++;
      arenaEnd = m.start + ARENA_BYTES;
      kb.arenas += m.rssKB;
    } else if (
      m.perms.startsWith("rw") &&
      prev !== undefined &&
      prev.perms.startsWith("---") &&
      isAnon(prev) &&
      prev.end === m.start &&
      prev.end - prev.start <= GUARD_MAX
    )
      kb.stacks += m.rssKB;
    else kb.anon += m.rssKB;
  }
  const mb = (k: number): number => (k * 1024) / 1e6;
  const total = kb.code + kb.brk + kb.arenas + kb.stacks + kb.anon;
  return {
    rssMB: mb(total),
    code: mb(kb.code),
    brk: mb(kb.brk),
    arenas: mb(kb.arenas),
    arenaHeaps,
    stacks: mb(kb.stacks),
    anon: mb(kb.anon),
  };
}

/**
 * Whether mapping `i` (writable, anonymous, at a 64 MiB boundary) is the used part of an arena heap: the rest of its
 * 64 MiB reservation follows as one PROT_NONE mapping (which may run on, merged with a neighbouring guard), or the
 * heap has grown to all of it.
 */
function arenaReservation(maps: readonly Mapping[], i: number): boolean {
  const first = maps[i];
  const next = maps[i + 1];
  if (!first) return false;
  if (first.end - first.start === ARENA_BYTES) return true;
  return (
    next !== undefined && next.start === first.end && next.perms.startsWith("---") && isAnon(next) && next.end >= first.start + ARENA_BYTES
  );
}

function isAnon(m: Mapping): boolean {
  return m.path === "" || m.path.startsWith("[anon");
}

/** The breakdown of process `pid` now; with `self`, also V8's heap and external memory (this process's). */
export function memoryOf(pid: number, self: boolean): MemoryBreakdown | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return undefined;
  }
  let threads: number | undefined;
  try {
    threads = readdirSync(`/proc/${pid}/task`).length;
  } catch {
    threads = undefined;
  }
  const b = threads === undefined ? classifySmaps(text) : { ...classifySmaps(text), threads };
  if (!self) return b;
  const u = process.memoryUsage();
  return { ...b, v8Heap: u.heapTotal / 1e6, external: u.external / 1e6 };
}
