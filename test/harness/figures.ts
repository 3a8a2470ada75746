/**
 * Figures the reliability tests measure (recovery times, frame rates, leak counts): logged at warn level, so they
 * show in a normal test run, and appended as JSON lines to MCC_FIGURES_FILE when it is set (README's figures).
 */
import { appendFileSync } from "node:fs";
import { harnessLog } from "./log.ts";

export function reportFigure(name: string, data: Record<string, unknown>): void {
  harnessLog.warn({ figure: name, ...data }, `figure: ${name}`);
  const file = process.env["MCC_FIGURES_FILE"];
  if (file !== undefined && file !== "")
    appendFileSync(file, JSON.stringify({ figure: name, at: new Date().toISOString(), ...data }) + "\n");
}
