/** Snapshotter: one real ffmpeg run on the demo source gives a JPEG of the asked size; a camera that never answers is given up on and its process ended. */
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { CameraConfig } from "../../src/config/load.ts";
import { jpegSize, Snapshotter } from "../../src/doorbell/snapshot.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { createLogger } from "../../src/util/logger.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";

const log = createLogger({ level: "silent" });

function camera(url: string): CameraConfig {
  return testCamera({ name: "door", url });
}

describe("Snapshotter", () => {
  it("takes one JPEG still with the real ffmpeg", async () => {
    const jpeg = await new Snapshotter(ffmpegPath(), log).take(camera("demo://clock"));
    expect(jpeg).toBeDefined();
    expect(jpegSize(jpeg ?? Buffer.alloc(0))).toEqual({ width: 320, height: 240 });
    expect(liveFfmpegCount()).toBe(0);
  });

  it("gives up on a camera that sends nothing, and ends the process", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-snapshot-"));
    const fake = path.join(dir, "ffmpeg");
    // An "ffmpeg" that ignores its input and never writes a picture.
    writeFileSync(fake, "#!/bin/sh\nexec sleep 30\n");
    chmodSync(fake, 0o755);
    const started = Date.now();
    const jpeg = await new Snapshotter(fake, log, { timeoutMs: 300 }).take(camera("rtsp://10.0.0.2/stream"));
    expect(jpeg).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(liveFfmpegCount()).toBe(0);
  });

  it("gives nothing when ffmpeg fails", async () => {
    const jpeg = await new Snapshotter("/bin/false", log).take(camera("rtsp://10.0.0.2/stream"));
    expect(jpeg).toBeUndefined();
    expect(liveFfmpegCount()).toBe(0);
  });
});
