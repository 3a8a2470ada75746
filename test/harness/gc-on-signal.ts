/**
 * Preloaded into a bot process by the soak test (`node --expose-gc --import tsx --import <this file>`): SIGUSR2 runs
 * a full garbage collection (twice, so objects freed by finalizers of the first go too) and then appends one line to
 * the file in MCC_GC_DONE_FILE (the run's number, process.memoryUsage() and, per V8 heap space, the bytes in use and
 * resident right after it), so the test can measure the process's memory without garbage in it and tell the V8 heap's
 * share of RSS (and compiled code's share of the heap) from the rest. Test-only: the bot itself never collects garbage on demand.
 */
import { appendFileSync } from "node:fs";
import { getHeapSpaceStatistics } from "node:v8";

const file = process.env["MCC_GC_DONE_FILE"];
/**
 * V8's last-resort collection (bench/phases/settle.ts): beside a full collection it shrinks the young generation and
 * returns its pooled pages. After a plain gc() those pages stayed resident but left the spaces' physical sizes, so
 * "RSS less V8's resident pages" stepped up by ~45 MB between two samples of the MatrixRTC soak (2026-12-05, with the
 * frame-end proxy's packets churning the young generation) and read as a native trend.
 */
const gc = (globalThis as { gc?: (o?: { type: string; execution: string; flavor: string }) => void }).gc;
const LAST_RESORT = { type: "major", execution: "sync", flavor: "last-resort" };
let runs = 0;

process.on("SIGUSR2", () => {
  gc?.(LAST_RESORT);
  gc?.(LAST_RESORT);
  runs++;
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, physical: s.physical_space_size }]),
  );
  if (file !== undefined) appendFileSync(file, `${JSON.stringify({ run: runs, ...process.memoryUsage(), spaces })}\n`);
});
