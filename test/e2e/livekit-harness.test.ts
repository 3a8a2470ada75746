/**
 * The LiveKit SFU harness (test/harness/livekit.ts): a real livekit-server answers on loopback with the generated
 * keys, listens on nothing but 127.0.0.1, and is gone after stop(). Skips with one line when Go is missing.
 */
import { execFileSync } from "node:child_process";
import { RoomServiceClient } from "livekit-server-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveKitBinary, startLiveKit, type LiveKit } from "../harness/livekit.ts";

const found = liveKitBinary();
if ("skip" in found) process.stderr.write(`${found.skip}\n`);

/** Sockets the process listens on (TCP) or has bound (UDP), as "proto addr:port", from `ss`. */
function listeningSockets(pid: number): string[] {
  const out = execFileSync("ss", ["-H", "-lntup"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes(`pid=${String(pid)},`))
    .map((line) => {
      const cols = line.trim().split(/\s+/);
      return `${cols[0] ?? "?"} ${cols[4] ?? "?"}`;
    });
}

describe.skipIf("skip" in found)("LiveKit harness", () => {
  let lk: LiveKit;
  beforeAll(async () => {
    lk = await startLiveKit();
  });
  afterAll(async () => {
    await lk.stop();
  });

  it("answers the server API with its generated keys and refuses others", async () => {
    const rooms = new RoomServiceClient(lk.httpUrl, lk.apiKey, lk.apiSecret);
    await rooms.createRoom({ name: "harness-check" });
    expect((await rooms.listRooms()).map((r) => r.name)).toContain("harness-check");
    const wrong = new RoomServiceClient(lk.httpUrl, lk.apiKey, "x".repeat(40));
    await expect(wrong.listRooms()).rejects.toThrow();
  });

  it("listens on 127.0.0.1 only", () => {
    const sockets = listeningSockets(lk.pid);
    expect(sockets.length).toBeGreaterThanOrEqual(2); // signalling (TCP) and the ICE port (UDP)
    for (const socket of sockets) expect(socket).toMatch(/ 127\.0\.0\.1:\d+$/);
  });
});
