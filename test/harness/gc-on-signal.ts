/**
 * Preloaded into a bot process by the soak test (`node --expose-gc --import tsx --import <this file>`): SIGUSR2 runs
 * a full garbage collection (twice, so objects freed by finalizers of the first go too) and then appends one line to
 * the file in MCC_GC_DONE_FILE (the run's number and process.memoryUsage() right after it), so the test can measure
 * the process's memory without garbage in it. Test-only: the bot itself never collects garbage on demand.
 */
import { appendFileSync } from "node:fs";

const file = process.env["MCC_GC_DONE_FILE"];
const gc = (globalThis as { gc?: () => void }).gc;
let runs = 0;

process.on("SIGUSR2", () => {
  gc?.();
  gc?.();
  runs++;
  if (file !== undefined) appendFileSync(file, `${JSON.stringify({ run: runs, ...process.memoryUsage() })}\n`);
});
