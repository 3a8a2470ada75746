/**
 * ffmpeg children on real processes: they get only the environment they need (L5), a binary that cannot be
 * started still ends (L6), stderr lines are bounded and cheap (L11), and a stopped camera pipeline keeps no
 * audio timer running (L8).
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CameraConfig, Config } from "../../src/config/load.ts";
import { checkFfmpeg } from "../../src/doctor/checks.ts";
import { CameraPipeline, type PipelineState } from "../../src/media/camera-pipeline.ts";
import { FfmpegProcess, liveFfmpegCount, type FfmpegExit } from "../../src/media/ffmpeg-process.ts";
import { renderOfflineFrame } from "../../src/media/offline-frame.ts";
import { createLogger } from "../../src/util/logger.ts";
import { waitFor } from "../harness/wait.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

const log = createLogger({ level: "silent" });
const TOKEN = "syt_test-token-in-the-environment-4711";

function camera(url: string, audio: boolean): CameraConfig {
  return testCamera({ url, audio });
}

const saved = { ...process.env };
afterEach(() => {
  for (const name of ["MCC_ACCESS_TOKEN", "MCC_WEBHOOK_TOKEN", "CAM_PASSWORD"]) {
    if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = saved[name];
  }
});

describe("the environment of ffmpeg children (L5)", () => {
  it("a running camera ffmpeg has PATH but none of the bot's variables in /proc/<pid>/environ", async () => {
    process.env["MCC_ACCESS_TOKEN"] = TOKEN;
    process.env["CAM_PASSWORD"] = "cam-password-in-env";
    const proc = new FfmpegProcess(
      ffmpegPath(),
      ["-hide_banner", "-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-f", "null", "-"],
      log,
    );
    proc.start();
    try {
      const environ = readFileSync(`/proc/${String(proc.pid)}/environ`, "utf8").split("\0");
      expect(environ.some((v) => v.startsWith("PATH="))).toBe(true);
      expect(environ.filter((v) => v.startsWith("MCC_") || v.startsWith("CAM_"))).toEqual([]);
      expect(environ.join("\n")).not.toContain(TOKEN);
    } finally {
      await proc.stop();
    }
  });

  it("the offline picture's ffmpeg and doctor's ffmpeg runs get no MCC_ variable either", async () => {
    process.env["MCC_WEBHOOK_TOKEN"] = TOKEN;
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-env-"));
    const dump = path.join(dir, "env.txt");
    const fake = path.join(dir, "ffmpeg");
    // A stand-in ffmpeg that appends its environment to a file and answers -version.
    writeFileSync(fake, `#!/bin/sh\nenv >> ${dump}\necho "---" >> ${dump}\necho "ffmpeg version test"\n`);
    chmodSync(fake, 0o755);
    await renderOfflineFrame(fake, 64, 64);
    await checkFfmpeg({ media: { ffmpegPath: fake } } as Config);
    const runs = readFileSync(dump, "utf8")
      .split("---\n")
      .filter((r) => r.trim() !== "");
    expect(runs.length).toBeGreaterThanOrEqual(3);
    for (const run of runs) {
      expect(run).toMatch(/^PATH=/m);
      expect(run).not.toMatch(/^MCC_/m);
      expect(run).not.toContain(TOKEN);
    }
  });
});

describe("a binary that cannot be started (L6)", () => {
  it("FfmpegProcess reports an exit, stop() returns and nothing stays live", async () => {
    const proc = new FfmpegProcess("/nonexistent/ffmpeg", ["-version"], log);
    const exit = new Promise<FfmpegExit>((resolve) => proc.once("exit", resolve));
    proc.start();
    const stopped = await proc.stop();
    expect(stopped).toBeDefined();
    expect((await exit).code).not.toBe(0);
    expect(liveFfmpegCount()).toBe(0);
  });

  it("a camera pipeline with a missing ffmpeg retries and its stop() returns", async () => {
    const pipeline = new CameraPipeline(camera("demo://", false), { full: "/nonexistent/ffmpeg" }, log);
    const states: PipelineState[] = [];
    pipeline.on("state", (s) => states.push(s));
    pipeline.start();
    await waitFor("the pipeline to schedule a retry", () => states.includes("retrying"), { timeoutMs: 5000 });
    await pipeline.stop();
    expect(pipeline.getState()).toBe("stopped");
    expect(liveFfmpegCount()).toBe(0);
  });
});

describe("stderr lines (L11)", () => {
  it("a 16 KiB line and a 1 MiB run without a newline come out cut to about 1 KiB, quickly, and the next line intact", async () => {
    const script =
      "process.stderr.write('x'.repeat(16384) + '\\n'); process.stderr.write('y'.repeat(1 << 20)); process.stderr.write('\\nafter the long ones\\n');";
    const proc = new FfmpegProcess(process.execPath, ["-e", script], log);
    const lines: string[] = [];
    proc.on("line", (l) => lines.push(l));
    const exit = new Promise<FfmpegExit>((resolve) => proc.once("exit", resolve));
    const started = performance.now();
    proc.start();
    await exit;
    await waitFor("the last line", () => lines.includes("after the long ones"));
    expect(lines.map((l) => l.length)).toEqual([1025, 1025, 19]);
    // Unbounded and unanchored, the 16 KiB line alone took 0.2–0.9 s of the event loop.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe("a stopped camera pipeline (L8)", () => {
  it("keeps no audio timer running when PCM arrives while ffmpeg is being stopped", async () => {
    // A stand-in ffmpeg that sends PCM on fd 3 every 10 ms and, like an RTSP ffmpeg tearing its session down,
    // goes on for 300 ms after its `q` before it exits.
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-pcm-"));
    const script = path.join(dir, "pcm.cjs");
    writeFileSync(
      script,
      [
        "const fs = require('node:fs');",
        "const pcm = Buffer.alloc(960);",
        "setInterval(() => { try { fs.writeSync(3, pcm); } catch {} }, 10);",
        "process.stdin.on('data', () => setTimeout(() => process.exit(0), 300));",
      ].join("\n"),
    );
    const fake = path.join(dir, "ffmpeg");
    writeFileSync(fake, `#!/bin/sh\nexec ${process.execPath} ${script}\n`);
    chmodSync(fake, 0o755);
    const pipeline = new CameraPipeline(camera("rtsp://127.0.0.1:1/x", true), { full: fake }, log);
    const sound = (pipeline as unknown as { sound: { timer: unknown } }).sound;
    pipeline.start();
    await waitFor("the camera's sound", () => sound.timer !== undefined);
    await pipeline.stop();
    // Before the fix, the PCM that arrived during the stop started the 10 ms interval again, for ever.
    expect(sound.timer).toBeUndefined();
  });
});

describe("the process's exit (L7)", () => {
  it("SIGKILLs every live ffmpeg, which otherwise outlives the process in its own process group", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-exit-"));
    const script = path.join(dir, "exit.ts");
    const module = path.resolve("src/media/ffmpeg-process.ts");
    writeFileSync(
      script,
      [
        `import { FfmpegProcess } from ${JSON.stringify(module)};`,
        `import { createLogger } from ${JSON.stringify(path.resolve("src/util/logger.ts"))};`,
        `const proc = new FfmpegProcess(${JSON.stringify(ffmpegPath())}, ["-nostats", "-loglevel", "quiet", "-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-f", "null", "-"], createLogger({ level: "silent" }));`,
        "proc.start();",
        "console.log(proc.pid);",
        "setTimeout(() => process.exit(0), 300);",
      ].join("\n"),
    );
    const { execFileSync } = await import("node:child_process");
    const pid = Number(execFileSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", cwd: process.cwd() }).trim());
    expect(pid).toBeGreaterThan(0);
    // Gone, or a zombie waiting for its new parent to reap it: either way no longer running.
    const running = (): boolean => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return false;
      }
    };
    try {
      await waitFor("ffmpeg to be killed", () => !running(), { timeoutMs: 5000 });
    } finally {
      if (running()) process.kill(pid, "SIGKILL");
    }
  }, 15_000);
});
