/**
 * `npm run bench` — measures the bot end to end on real parts: a real Synapse, stamped RTSP cameras
 * (test/harness/rtsp_camera.py --stamp), the bot in-process from a real YAML config, and a receiver in a separate
 * process (bench/receiver.ts) answering with matrix-js-sdk and reading every frame's stamp. See docs/benchmark.md.
 *
 *   npm run bench                          every default phase (about 24 minutes on 2 cores)
 *   npm run bench -- --quick               short windows, 720p only (a few minutes)
 *   npm run bench -- --only latency,talkback
 *   npm run bench -- --only matrixrtc      MatrixRTC calls through LiveKit (skipped without livekit-server or rtc-node)
 *   npm run bench -- --list                the phases
 *   npm run bench -- --drift               adds the 10-minute drift phase and 10 minutes of talkback bursts
 *
 * Prints every figure with its target and verdict, writes bench-results/<date>.json and bench-results/<date>.md
 * (the targets as a markdown table), with the bot's and the receiver's logs in bench-results/<date>/.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { rerunWithLauncherEnv } from "./launcher-env.ts";
import { PHASES } from "./phases/registry.ts";
import { makePlan, parseArgs, PlanError, R720, type Plan } from "./plan.ts";
import { Results } from "./report/results.ts";
import { textReport } from "./report/tables.ts";
import { computeTargets, targetsMarkdown } from "./report/targets.ts";
import { cameraName } from "./rig/cameras.ts";
import { Rig } from "./rig/rig.ts";
import { resolveLeanFfmpeg } from "../src/media/lean-ffmpeg.ts";

const started = Date.now();
function say(text: string): void {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${text}\n`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "?";
  }
}

/**
 * The code the run measures: the commit and whether src/bench differed from it, read when the run starts (the modules
 * are loaded then). Read at the end, a commit made during a 20-minute run was reported as the one measured.
 */
const code = {
  commit: sh("git", ["rev-parse", "--short", "HEAD"]),
  dirty: sh("git", ["status", "--porcelain", "--untracked-files=no", "--", "src", "bench"]) !== "",
};

function leanLabel(lean: ReturnType<typeof resolveLeanFfmpeg>): string {
  if ("error" in lean) return lean.error;
  return lean.path === undefined ? `none: ${lean.why}` : `${lean.path} ${lean.version}`;
}

function machine(plan: Plan, rig: Rig | undefined): Record<string, unknown> {
  return {
    date: new Date(started).toISOString(),
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? "?",
    memGB: Math.round(os.totalmem() / 1e9),
    kernel: os.release(),
    node: process.version,
    ffmpeg: rig ? `${rig.app.ffmpeg.path} ${rig.app.ffmpeg.version}` : "?",
    // What reads the rtsp:// cameras by default: the lean ffmpeg where it is built (media/lean-ffmpeg.ts).
    leanFfmpeg: rig ? leanLabel(resolveLeanFfmpeg(rig.app.config.media.leanFfmpegPath)) : "?",
    ...code,
    mode: plan.mode,
    phases: plan.phases,
    // glibc's malloc settings of this process (the launcher's, bin/matrix-camera-call, when run through it).
    malloc: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("MALLOC_") || k === "GLIBC_TUNABLES")),
  };
}

async function main(): Promise<number> {
  let plan: Plan;
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.list) {
      for (const p of PHASES) process.stdout.write(`${p.name.padEnd(12)} ${p.byDefault ? "   " : "(*)"} ${p.about}\n`);
      process.stdout.write("(*) only with --only or --drift\n");
      return 0;
    }
    plan = makePlan(
      args,
      PHASES.map((p) => p.name),
      PHASES.filter((p) => p.byDefault || (args.drift && p.name === "drift")).map((p) => p.name),
    );
  } catch (err: unknown) {
    if (!(err instanceof PlanError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 2;
  }
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  // The bot as users run it: with the launcher's malloc settings, which only take effect at a process's start.
  const again = rerunWithLauncherEnv(path.join(root, "bin", "matrix-camera-call"));
  if (again) return again;
  const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
  const outDir = path.join(root, "bench-results");
  const runDir = path.join(outDir, stamp);
  mkdirSync(runDir, { recursive: true });
  say(`matrix-camera-call bench (${plan.mode}: ${plan.phases.join(", ")}); logs in ${path.relative(root, runDir)}/`);

  const results = new Results();
  let rig: Rig | undefined;
  const deadline = setTimeout(() => {
    say(`deadline of ${Math.round(plan.deadlineMs / 60_000)} minutes passed: stopping`);
    results.errors.push("deadline passed");
    void (rig?.stop() ?? Promise.resolve()).finally(() => process.exit(1));
  }, plan.deadlineMs);
  deadline.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      say(`${signal}: stopping everything`);
      void (rig?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }

  let failed = false;
  try {
    rig = await Rig.start(plan, runDir, say);
    const keep = [cameraName(R720, 0)];
    for (const phase of PHASES.filter((p) => plan.phases.includes(p.name))) {
      // Each phase is independent: one that fails is reported and the next one still runs, from a clean state.
      try {
        await phase.run({ rig, plan, results, say });
      } catch (err: unknown) {
        failed = true;
        results.errors.push(`${phase.name}: ${errorText(err)}`);
        say(`${phase.name} FAILED: ${errorText(err).split("\n")[0] ?? ""}`);
      }
      await rig.reset(keep).catch((err: unknown) => results.errors.push(`reset after ${phase.name}: ${errorText(err)}`));
    }
  } catch (err: unknown) {
    failed = true;
    results.errors.push(errorText(err));
    say(`FAILED: ${errorText(err)}`);
  } finally {
    if (rig && rig.receiver.errors.length > 0) results.errors.push(...rig.receiver.errors.map((e) => `receiver: ${e}`));
    const info = machine(plan, rig);
    say("stopping everything");
    results.errors.push(...(await (rig?.stop() ?? Promise.resolve([]))));
    clearTimeout(deadline);
    process.stdout.write(`\n${JSON.stringify(info)}\n\n${textReport(results)}\n`);
    if (results.notes.length > 0) process.stdout.write(`\nnotes:\n${results.notes.map((n) => `  ${n}`).join("\n")}\n`);
    if (results.errors.length > 0) process.stdout.write(`\nerrors:\n${results.errors.map((e) => `  ${e}`).join("\n")}\n`);
    const targets = computeTargets(results);
    const json = path.join(outDir, `${stamp}.json`);
    writeFileSync(
      json,
      JSON.stringify(
        {
          machine: info,
          plan,
          windows: results.windows,
          ttff: results.ttff,
          talkback: results.talkback,
          rtc: results.rtc,
          figures: results.figures,
          notes: results.notes,
          errors: results.errors,
          targets,
        },
        null,
        2,
      ),
    );
    const md = path.join(outDir, `${stamp}.md`);
    writeFileSync(
      md,
      `Bench ${info["date"] as string} at ${info["commit"] as string} (${plan.mode}: ${plan.phases.join(", ")})\n\n${targetsMarkdown(targets)}\n`,
    );
    process.stdout.write(`\nwrote ${path.relative(root, json)} and ${path.relative(root, md)}\n`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${errorText(err)}\n`);
    process.exit(1);
  },
);
