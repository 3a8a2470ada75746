/**
 * The callee watch's decisions (src/matrixrtc/peer-watch.ts) on fake timers: a callee whose LiveKit participant
 * leaves and does not come back within the grace is gone; one that comes back keeps the call; nothing is decided
 * while the bot's own link is down; a device never seen in LiveKit is never declared gone; a membership whose
 * `expires` passes is gone; a huge `expires` does not fire at once. The real runs are test/e2e/matrixrtc-faults.test.ts.
 */
import { EventEmitter } from "node:events";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PeerWatch } from "../../src/matrixrtc/peer-watch.ts";

const log = pino({ level: "silent" });
const CALLEE = "@alice:hs";
const KEY = "_@alice:hs_PHONE_m.call";
const IDENTITY = `${CALLEE}:PHONE`;
const HOUR = 3_600_000;

function watch(): { peers: PeerWatch; gone: string[] } {
  const gone: string[] = [];
  const peers = new PeerWatch({
    callee: CALLEE,
    log,
    graceMs: 10_000,
    onGone: (reason) => {
      gone.push(reason);
    },
  });
  return { peers, gone };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("PeerWatch", () => {
  it("the callee's participant leaves and stays away past the grace: gone, once", () => {
    const { peers, gone } = watch();
    peers.peerJoined(IDENTITY);
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    peers.peerLeft(IDENTITY);
    vi.advanceTimersByTime(9_999);
    expect(gone).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(gone).toHaveLength(1);
    expect(gone[0]).toMatch(/^the callee's client vanished/);
    vi.advanceTimersByTime(10 * HOUR);
    expect(gone).toHaveLength(1);
  });

  it("the callee reconnects within the grace: the call goes on", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    peers.peerJoined(IDENTITY);
    peers.peerLeft(IDENTITY);
    vi.advanceTimersByTime(8_000);
    peers.peerJoined(IDENTITY);
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual([]);
  });

  it("another participant leaving, or a device never seen in LiveKit, decides nothing", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    peers.peerJoined("@bob:hs:LAPTOP");
    peers.peerLeft("@bob:hs:LAPTOP");
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual([]);
  });

  it("two devices: gone only when neither is there", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    peers.memberJoined("_@alice:hs_LAPTOP_m.call", "LAPTOP", Date.now() + HOUR);
    peers.peerJoined(IDENTITY);
    peers.peerJoined(`${CALLEE}:LAPTOP`);
    peers.peerLeft(IDENTITY);
    vi.advanceTimersByTime(30_000);
    expect(gone).toEqual([]);
    peers.peerLeft(`${CALLEE}:LAPTOP`);
    vi.advanceTimersByTime(10_000);
    expect(gone).toHaveLength(1);
  });

  it("while the bot's own link is down nothing is decided; after it, the grace starts from what the room shows", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    peers.peerJoined(IDENTITY);
    peers.link(false);
    peers.peerLeft(IDENTITY);
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual([]);
    // Back, and the callee is in the room again (re-joined during the outage).
    peers.link(true, [IDENTITY]);
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual([]);
    // Down and back without the callee: the grace runs from the reconnect.
    peers.link(false);
    vi.advanceTimersByTime(30_000);
    peers.link(true, []);
    vi.advanceTimersByTime(9_000);
    expect(gone).toEqual([]);
    peers.peerJoined(IDENTITY);
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual([]);
    peers.peerLeft(IDENTITY);
    vi.advanceTimersByTime(10_000);
    expect(gone).toHaveLength(1);
  });

  it("a membership that leaves is no longer watched; memberLeft says whether it was one", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    peers.peerJoined(IDENTITY);
    expect(peers.memberLeft("_@mallory:hs_X_m.call")).toBe(false);
    expect(peers.memberLeft(KEY)).toBe(true);
    expect(peers.memberCount).toBe(0);
    peers.peerLeft(IDENTITY);
    vi.advanceTimersByTime(2 * HOUR);
    expect(gone).toEqual([]);
  });

  it("a membership whose expires passes without a renewal is gone; a renewal moves the expiry", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + 60_000);
    vi.advanceTimersByTime(50_000);
    peers.memberJoined(KEY, "PHONE", Date.now() + 60_000);
    vi.advanceTimersByTime(50_000);
    expect(gone).toEqual([]);
    vi.advanceTimersByTime(10_000);
    expect(gone).toEqual(["the callee's membership expired"]);
  });

  it("an expires beyond what a timer holds does not fire at once", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + 100 * 24 * HOUR);
    vi.advanceTimersByTime(30 * 24 * HOUR);
    expect(gone).toEqual([]);
    vi.advanceTimersByTime(70 * 24 * HOUR);
    expect(gone).toEqual(["the callee's membership expired"]);
  });

  it("stop() ends every timer", () => {
    const { peers, gone } = watch();
    peers.memberJoined(KEY, "PHONE", Date.now() + 60_000);
    peers.peerJoined(IDENTITY);
    peers.peerLeft(IDENTITY);
    peers.stop();
    vi.advanceTimersByTime(2 * HOUR);
    expect(gone).toEqual([]);
  });

  it("follows a source's participant and link events", () => {
    const { peers, gone } = watch();
    const source = Object.assign(new EventEmitter(), { present: [IDENTITY], peers: () => source.present });
    peers.follow(source);
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    source.emit("peerJoined", IDENTITY);
    source.emit("link", false);
    source.emit("link", true);
    vi.advanceTimersByTime(60_000);
    expect(gone).toEqual([]);
    source.emit("peerLeft", IDENTITY);
    vi.advanceTimersByTime(10_000);
    expect(gone).toHaveLength(1);
  });

  it("a callee already in the room when the bot connects (no join event) is watched from the connect", () => {
    const { peers, gone } = watch();
    const source = Object.assign(new EventEmitter(), { present: [] as string[], peers: () => source.present });
    peers.follow(source);
    peers.memberJoined(KEY, "PHONE", Date.now() + HOUR);
    source.present = [IDENTITY, "@bob:hs:LAPTOP"];
    source.emit("connected");
    source.emit("peerLeft", IDENTITY);
    vi.advanceTimersByTime(9_999);
    expect(gone).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(gone).toHaveLength(1);
  });
});

describe("PeerWatch: the other party's devices in the call", () => {
  const key = (device: string): string => `_${CALLEE}_${device}_m.call`;

  it("a call the bot joined starts with the caller's device in it; its leave is the last", () => {
    const { peers } = watch();
    peers.memberJoined(key("PHONE"), "PHONE", Date.now() + HOUR);
    expect(peers.memberLeft(key("PHONE"))).toBe(true);
    expect(peers.memberCount).toBe(0);
  });

  it("a second device keeps the peer in the call until it leaves too", () => {
    const { peers } = watch();
    peers.memberJoined(key("PHONE"), "PHONE", Date.now() + HOUR);
    peers.memberJoined(key("LAPTOP"), "LAPTOP", Date.now() + HOUR);
    expect(peers.memberLeft(key("PHONE"))).toBe(true);
    expect(peers.memberCount).toBe(1);
    expect(peers.memberLeft(key("LAPTOP"))).toBe(true);
    expect(peers.memberCount).toBe(0);
  });

  it("a leave of a device never seen in the call (a ringing call's callee) is no leave of the peer", () => {
    const { peers } = watch();
    expect(peers.memberLeft(key("PHONE"))).toBe(false);
    expect(peers.memberCount).toBe(0);
  });
});
