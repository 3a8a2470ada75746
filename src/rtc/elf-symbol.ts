/**
 * One symbol of an ELF64 little-endian shared object (wrtc.node), read from its static symbol table (.symtab), and
 * the segments the loader maps: what field-trials.ts needs to find a variable of libwebrtc that wrtc does not export.
 * Positional reads only: wrtc.node is 26 MB, its symbol and string tables 5 MB.
 */
import { closeSync, openSync, readSync } from "node:fs";

export interface ElfSegment {
  /** Where the segment starts in the file. */
  offset: bigint;
  /** Where it starts in memory, relative to the load bias. */
  vaddr: bigint;
  /** Its size in memory (the zero-filled .bss included). */
  memsz: bigint;
  writable: boolean;
}

export interface ElfSymbol {
  value: bigint;
  size: bigint;
  /** STT_OBJECT: a variable. */
  isObject: boolean;
}

const PT_LOAD = 1;
const PF_W = 2;
const SHT_SYMTAB = 2;
const STT_OBJECT = 1;
const SYM_SIZE = 24;

/** `length` bytes of `fd` at `position`; a short read is an error. */
export function readAt(fd: number, position: bigint, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const got = readSync(fd, buf, 0, length, position);
  if (got !== length) throw new Error(`short read at ${position.toString()} (${String(got)} of ${String(length)} bytes)`);
  return buf;
}

/** What readElfSymbol found; `firstPage`: the file's first 4 KiB (what the loader maps first, to compare). */
export interface ElfFound {
  segments: ElfSegment[];
  symbol: ElfSymbol | undefined;
  firstPage: Buffer;
}

/** The loadable segments of `file` and the symbol called `name` (undefined when its .symtab has none, or it has no .symtab). */
export function readElfSymbol(file: string, name: string): ElfFound {
  const fd = openSync(file, "r");
  try {
    const head = readAt(fd, 0n, 64);
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file} is not an ELF file`);
    if (head[4] !== 2 || head[5] !== 1) throw new Error(`${file} is not a 64-bit little-endian ELF file`);
    const firstPage = readAt(fd, 0n, 4096);
    const phoff = head.readBigUInt64LE(0x20);
    const shoff = head.readBigUInt64LE(0x28);
    const [phentsize, phnum, shentsize, shnum] = [0x36, 0x38, 0x3a, 0x3c].map((at) => head.readUInt16LE(at)) as [
      number,
      number,
      number,
      number,
    ];
    if (phentsize < 56 || shentsize < 64) throw new Error(`${file} has malformed ELF headers`);
    const segments: ElfSegment[] = [];
    const ph = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (ph.readUInt32LE(at) !== PT_LOAD) continue;
      const flags = ph.readUInt32LE(at + 4);
      segments.push({
        offset: ph.readBigUInt64LE(at + 8),
        vaddr: ph.readBigUInt64LE(at + 16),
        memsz: ph.readBigUInt64LE(at + 40),
        writable: (flags & PF_W) !== 0,
      });
    }
    const sh = readAt(fd, shoff, shentsize * shnum);
    const section = (i: number): { type: number; offset: bigint; size: bigint; link: number } => ({
      type: sh.readUInt32LE(i * shentsize + 4),
      offset: sh.readBigUInt64LE(i * shentsize + 24),
      size: sh.readBigUInt64LE(i * shentsize + 32),
      link: sh.readUInt32LE(i * shentsize + 40),
    });
    let symtab: ReturnType<typeof section> | undefined;
    for (let i = 0; i < shnum && symtab === undefined; i++) if (section(i).type === SHT_SYMTAB) symtab = section(i);
    if (symtab === undefined) return { segments, symbol: undefined, firstPage };
    const strtab = section(symtab.link);
    const syms = readAt(fd, symtab.offset, Number(symtab.size));
    const strs = readAt(fd, strtab.offset, Number(strtab.size));
    const wanted = Buffer.from(name);
    for (let at = 0; at + SYM_SIZE <= syms.length; at += SYM_SIZE) {
      const off = syms.readUInt32LE(at);
      if (off + wanted.length >= strs.length || strs[off + wanted.length] !== 0) continue;
      if (strs.compare(wanted, 0, wanted.length, off, off + wanted.length) !== 0) continue;
      const info = syms.readUInt8(at + 4);
      return {
        segments,
        firstPage,
        symbol: { value: syms.readBigUInt64LE(at + 8), size: syms.readBigUInt64LE(at + 16), isObject: (info & 0xf) === STT_OBJECT },
      };
    }
    return { segments, symbol: undefined, firstPage };
  } finally {
    closeSync(fd);
  }
}
