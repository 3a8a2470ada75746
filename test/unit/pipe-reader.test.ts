/**
 * The camera's raw video pipe read into one reused buffer (pipe-reader.ts), on a real child process: every byte comes,
 * in order, in views of one buffer; the child still ends with 'close'; a stream without a handle still works.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readPipeIntoOneBuffer } from "../../src/media/pipe-reader.ts";

/** Writes `total` bytes where byte i is i mod 251 to fd 3, in writes of 100 000 bytes. */
const WRITER = `
const fs = require("node:fs");
const total = Number(process.argv[1]);
const chunk = 100000;
for (let at = 0; at < total; at += chunk) {
  const n = Math.min(chunk, total - at);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (at + i) % 251;
  let off = 0;
  while (off < n) {
    try { off += fs.writeSync(3, b, off, n - off); } catch (e) { if (e.code !== "EAGAIN") throw e; }
  }
}
`;

/** A child running WRITER for `total` bytes, and its fd 3 as this process reads it. */
function writer(total: number): { child: ChildProcess; pipe: Readable } {
  const child = spawn(process.execPath, ["-e", WRITER, String(total)], { stdio: ["ignore", "ignore", "inherit", "pipe"] });
  const pipe = child.stdio[3];
  if (!(pipe instanceof Readable)) throw new Error("no pipe");
  return { child, pipe };
}

describe("readPipeIntoOneBuffer", () => {
  it("hands on every byte of a child's pipe in order, each read a view of the same buffer, and the child closes", async () => {
    const total = 8_000_000;
    const { child, pipe } = writer(total);
    let received = 0;
    let wrong = 0;
    const buffers = new Set<ArrayBufferLike>();
    let reads = 0;
    const errors: Error[] = [];
    const reader = readPipeIntoOneBuffer(
      pipe,
      (chunk) => {
        reads++;
        buffers.add(chunk.buffer);
        for (let i = 0; i < chunk.length; i++) if (chunk[i] !== (received + i) % 251) wrong++;
        received += chunk.length;
      },
      (err) => errors.push(err),
      64 * 1024,
    );
    const closed = once(child, "close");
    await once(reader, "close");
    const [code] = (await closed) as [number | null];
    expect(code).toBe(0);
    expect(errors).toEqual([]);
    expect(received).toBe(total);
    expect(wrong).toBe(0);
    // 8 MB in reads of at most 64 KiB: at least 123 reads, all into one buffer.
    expect(reads).toBeGreaterThanOrEqual(Math.ceil(total / (64 * 1024)));
    expect(buffers.size).toBe(1);
  });

  it("leaves a pipe someone already reads to its 'data' events: no byte is lost", async () => {
    const total = 300_000;
    const { pipe } = writer(total);
    let first = 0;
    pipe.on("data", (chunk: Buffer) => (first += chunk.length));
    let ours = 0;
    const reader = readPipeIntoOneBuffer(
      pipe,
      (chunk) => (ours += chunk.length),
      () => undefined,
    );
    expect(reader).toBe(pipe);
    await once(pipe, "close");
    expect(first).toBe(total);
    expect(ours).toBe(total);
  });

  it("falls back to 'data' events for a stream that is not a pipe", async () => {
    const seen: string[] = [];
    const stream = Readable.from([Buffer.from("ab"), Buffer.from("cd")]);
    const reader = readPipeIntoOneBuffer(
      stream,
      (chunk) => seen.push(chunk.toString()),
      () => undefined,
    );
    expect(reader).toBe(stream);
    await once(stream, "end");
    expect(seen).toEqual(["ab", "cd"]);
  });
});
