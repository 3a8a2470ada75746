/**
 * `npx tsx bench/merge.ts bench-results/A.json bench-results/B.json …` — the targets table over several runs taken in
 * parts (a shared machine's lock allows a few minutes each), as markdown for docs/benchmark.md. Nothing is
 * overridden: every file's windows, first-frame series and talkback figures are pooled, as if one run had made them.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { Results, type RtcTimings, type TalkbackResult, type TtffResult, type WindowResult } from "./report/results.ts";
import { computeTargets, targetsMarkdown } from "./report/targets.ts";

const withKeys =
  (...keys: string[]) =>
  (v: unknown): boolean =>
    typeof v === "object" && v !== null && keys.every((k) => k in v);
/** A file bench/run.ts wrote (the shape is checked to the keys the targets read). */
const runFile = z.object({
  windows: z.array(z.custom<WindowResult>(withKeys("kind", "calls", "cameras", "fps", "latency", "cpu", "rssMB", "delivered"))),
  ttff: z.array(z.custom<TtffResult>(withKeys("kind", "answerToFirstFrame", "callToInvite", "callToRing"))),
  talkback: z.array(z.custom<TalkbackResult>(withKeys("path", "latencies", "at", "lost"))).default([]),
  figures: z.array(z.object({ what: z.string(), value: z.number().optional(), unit: z.string() })).default([]),
  rtc: z
    .array(z.custom<RtcTimings>(withKeys("callToRing", "joinToFirstFrame", "joinToConnected", "joinToMemberSent", "firstSizes")))
    .default([]),
});

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write("usage: npx tsx bench/merge.ts bench-results/<run>.json …\n");
  process.exit(2);
}
const pooled = new Results();
for (const file of files) {
  const parsed = runFile.safeParse(JSON.parse(readFileSync(file, "utf8")));
  if (!parsed.success) {
    process.stderr.write(`${file}: not a bench result (${parsed.error.issues[0]?.message ?? "?"})\n`);
    process.exit(1);
  }
  pooled.windows.push(...parsed.data.windows);
  pooled.ttff.push(...parsed.data.ttff);
  pooled.talkback.push(...parsed.data.talkback);
  pooled.rtc.push(...parsed.data.rtc);
  for (const f of parsed.data.figures) pooled.figures.push({ what: f.what, value: f.value, unit: f.unit });
}
process.stdout.write(`${targetsMarkdown(computeTargets(pooled))}\n`);
