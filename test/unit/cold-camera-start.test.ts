/**
 * An outgoing call starts a cold camera once its invite is on its way (manager.ts: the front end's spawn forks the
 * bot, which blocks it for a third of its part of `!call` → invite). Real CameraHub (real ffmpeg, demo camera) and
 * CallManager; the sender records the camera's state as the invite goes out.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CallManager } from "../../src/call/manager.ts";
import { CameraHub } from "../../src/media/camera-hub.ts";
import { TurnCredentials } from "../../src/rtc/turn.ts";
import { ffmpegPath, testCamera } from "../harness/cameras.ts";
import { waitFor } from "../harness/wait.ts";

const log = pino({ level: "silent" });
const ROOM = "!room:example.org";
const ALICE = "@alice:example.org";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rig(): { hub: CameraHub; manager: CallManager; atInvite: string[] } {
  const hub = new CameraHub([testCamera({ url: "demo://clock" })], { full: ffmpegPath() }, log, 0);
  const atInvite: string[] = [];
  const manager = new CallManager(
    hub,
    new TurnCredentials(() => Promise.resolve({}), log),
    (_room, type) => {
      if (type === "m.call.invite") atInvite.push(hub.stats()["cam"]?.state ?? "none");
      return Promise.resolve();
    },
    { inviteLifetimeMs: 60_000, iceDisconnectedTimeoutMs: 30_000 },
    log,
  );
  cleanups.push(() => hub.stopAll());
  cleanups.push(() => manager.hangupAll());
  return { hub, manager, atInvite };
}

describe("a cold camera and an outgoing call", () => {
  it("is still stopped as the invite is sent, and runs right after", async () => {
    const { hub, manager, atInvite } = rig();
    await manager.placeCall(ROOM, ALICE, "cam");
    expect(atInvite).toEqual(["stopped"]);
    await waitFor("the camera running", () => hub.stats()["cam"]?.state === "running", { timeoutMs: 15_000 });
  });

  it("a lease taken without a start starts nothing, and startLeased() after its release starts nothing either", () => {
    const { hub } = rig();
    const lease = hub.acquire("cam", { start: false });
    expect(hub.stats()["cam"]?.state).toBe("stopped");
    lease.release();
    hub.startLeased("cam");
    hub.startLeased("nonesuch");
    expect(hub.stats()["cam"]?.state).toBe("stopped");
  });
});
