/**
 * A flood of doorbell presses (what anyone who can publish to a rule's MQTT topic can send) starts a bounded number of
 * ring rounds and snapshot processes. The real RingPolicy, RingRound and Snapshotter; the snapshot "ffmpeg" is a script
 * that records its start and waits to be ended (a camera that is slow to answer), and the direct-chat lookup finds a
 * new direct chat whose user never joins, so every round started posts its doorbell line (which starts the snapshot)
 * and stays in progress for the whole flood. The call manager is never reached.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { MatrixClient } from "matrix-bot-sdk";
import { afterEach, describe, expect, it } from "vitest";
import type { CallManager } from "../../src/call/manager.ts";
import type { CameraConfig } from "../../src/config/load.ts";
import type { DmRooms } from "../../src/doorbell/dm-rooms.ts";
import { MAX_ACTIVE_ROUNDS, RingPolicy, type PressResult } from "../../src/doorbell/ring-policy.ts";
import { MAX_SNAPSHOTS_IN_FLIGHT, Snapshotter } from "../../src/doorbell/snapshot.ts";
import { liveFfmpegCount } from "../../src/media/ffmpeg-process.ts";
import { createLogger } from "../../src/util/logger.ts";
import { waitFor } from "../harness/wait.ts";
import { testCamera } from "../harness/cameras.ts";

const log = createLogger({ level: "silent" });
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  expect(liveFfmpegCount()).toBe(0);
});

function doorbell(name: string): CameraConfig {
  return testCamera({ name, url: `rtsp://10.0.0.2/${name}`, ring: { users: ["@alice:example.org"], debounceMs: 0, snapshot: true } });
}

function setup(cameras: CameraConfig[], pressLimit: { burst: number; perMinute: number }): { policy: RingPolicy; spawns: () => number } {
  const dir = mkdtempSync(path.join(tmpdir(), "mcc-flood-"));
  const spawnLog = path.join(dir, "spawns");
  const fake = path.join(dir, "ffmpeg");
  writeFileSync(fake, `#!/bin/sh\necho started >> ${spawnLog}\nexec sleep 60\n`);
  chmodSync(fake, 0o755);
  const snapshots = new Snapshotter(fake, log, { timeoutMs: 60_000 });
  let release: () => void = () => undefined;
  const lookups = new Promise<undefined>((resolve) => {
    release = () => {
      resolve(undefined);
    };
  });
  const dms = {
    roomFor: (_user: string, _deadline: number, known: (roomId: string, ready: boolean) => void) => {
      known("!new-dm:example.org", false);
      return lookups;
    },
  } as unknown as DmRooms;
  const policy = new RingPolicy({
    client: { sendMessage: () => Promise.resolve("$line") } as unknown as MatrixClient,
    calls: {} as unknown as CallManager,
    admission: { decide: () => Promise.reject(new Error("not reached: the direct-chat lookups never resolve")) },
    dms,
    snapshots,
    cameras,
    inviteLifetimeMs: 60_000,
    pictureFlowing: () => Promise.resolve(),
    pressLimit,
    log,
  });
  stops.push(async () => {
    release();
    await Promise.all([policy.stop(), snapshots.stop()]);
  });
  const spawns = (): number => (existsSync(spawnLog) ? readFileSync(spawnLog, "utf8").split("\n").length - 1 : 0);
  return { policy, spawns };
}

function flood(policy: RingPolicy, cameras: string[], presses: number): Record<string, number> {
  const results: Partial<Record<PressResult, number>> = {};
  for (let i = 0; i < presses; i++) {
    const r = policy.press(cameras[i % cameras.length] ?? "", i % 2 === 0 ? "mqtt" : "webhook");
    results[r] = (results[r] ?? 0) + 1;
  }
  return results;
}

describe("a flood of doorbell presses", () => {
  it("rings each camera at most its pressLimit burst and starts one snapshot ffmpeg per camera", async () => {
    const { policy, spawns } = setup([doorbell("front"), doorbell("back"), doorbell("side")], { burst: 4, perMinute: 4 });
    const results = flood(policy, ["front", "back", "side"], 300);
    expect(results).toEqual({ ringing: 12, limited: 288 });
    expect(policy.activeRounds()).toBe(12);
    // Four rounds of each camera share that camera's one snapshot.
    expect(liveFfmpegCount()).toBe(3);
    await waitFor("the snapshot processes to start", () => spawns() === 3);
  });

  it("rings all cameras together at most four times the per-camera burst", () => {
    const cameras = ["a", "b", "c", "d", "e", "f", "g"].map(doorbell);
    const { policy } = setup(cameras, { burst: 3, perMinute: 3 });
    expect(
      flood(
        policy,
        cameras.map((c) => c.name),
        70,
      ),
    ).toEqual({ ringing: 12, limited: 58 });
    // Snapshots of different cameras: at most MAX_SNAPSHOTS_IN_FLIGHT processes; the other rounds go without a picture.
    expect(liveFfmpegCount()).toBe(MAX_SNAPSHOTS_IN_FLIGHT);
  });

  it(`keeps at most ${String(MAX_ACTIVE_ROUNDS)} rounds in progress, whatever pressLimit allows`, () => {
    const { policy } = setup([doorbell("front")], { burst: 100, perMinute: 600 });
    expect(flood(policy, ["front"], 100)).toEqual({ ringing: MAX_ACTIVE_ROUNDS, limited: 100 - MAX_ACTIVE_ROUNDS });
    expect(policy.activeRounds()).toBe(MAX_ACTIVE_ROUNDS);
    expect(liveFfmpegCount()).toBe(1);
  });
});
