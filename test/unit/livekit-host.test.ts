/**
 * LiveKitHost (livekit-host.ts) with real LiveKit processes (rtc-node loaded, no LiveKit server: calls' channels are
 * opened and closed, nothing is published): which process a call gets, and when one is let go.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LiveKitHost } from "../../src/matrixrtc/livekit-host.ts";
import type { CallChannel, CallHandlers } from "../../src/matrixrtc/livekit-process.ts";
import { loadRtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { handLease } from "../harness/hand-lease.ts";
import { childrenNamed } from "../harness/proc-stats.ts";
import { waitFor } from "../harness/wait.ts";

const log = pino({ level: "silent" });
const rtcNode = await loadRtcNode();
const processes = (): number[] => childrenNamed(process.pid, "mcc-livekit");

function handlers(): CallHandlers & { goneWith: string[] } {
  const goneWith: string[] = [];
  return {
    goneWith,
    message: () => undefined,
    gone: (reason) => {
      goneWith.push(reason);
    },
  };
}

async function open(host: LiveKitHost, h: CallHandlers = handlers()): Promise<CallChannel> {
  const opened = await host.open(h);
  if (!opened.ok) throw new Error(opened.reason);
  return opened.channel;
}

let host: LiveKitHost | undefined;
afterEach(async () => {
  await host?.stop();
  expect(processes()).toEqual([]);
});

describe.skipIf(!rtcNode.ok)("LiveKitHost", () => {
  it("one process for calls in a row until it is worn; a worn one is let go when its last call ends, and the next call starts another", async () => {
    host = new LiveKitHost(log, { retireAfterCalls: 2 });
    const a = await open(host);
    const [first] = processes();
    expect(first).toBeDefined();
    const b = await open(host);
    a.close();
    // Worn (2 calls) but b is still in it.
    expect(processes()).toEqual([first]);
    b.close();
    await waitFor("the worn process to exit", () => processes().length === 0, { timeoutMs: 10_000 });
    const c = await open(host);
    const [second] = processes();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    c.close();
  }, 60_000);

  it("a process without a call for idleMs is let go; a call opened before that keeps it", async () => {
    host = new LiveKitHost(log, { idleMs: 1500 });
    (await open(host)).close();
    const [first] = processes();
    // A call within the idle time: the same process, and the idle time starts again when it ends.
    const again = await open(host);
    expect(processes()).toEqual([first]);
    again.close();
    await waitFor("the idle process to exit", () => processes().length === 0, { timeoutMs: 15_000 });
  }, 60_000);

  it("a process that crashes tells its calls why, and the next call gets a new one", async () => {
    host = new LiveKitHost(log);
    const h = handlers();
    await open(host, h);
    const [pid] = processes();
    if (pid === undefined) throw new Error("no LiveKit process");
    process.kill(pid, "SIGKILL");
    await waitFor("the call to hear the process went", () => h.goneWith.length > 0, { timeoutMs: 10_000 });
    expect(h.goneWith).toEqual(["the LiveKit process was killed (SIGKILL)"]);
    const next = await open(host);
    expect(processes()).toHaveLength(1);
    expect(processes()).not.toContain(pid);
    next.close();
  }, 60_000);

  it("a call's feed counts the camera's frames it sends; a channel closed while fed leaves the camera's stream", async () => {
    host = new LiveKitHost(log);
    const channel = await open(host);
    const door = handLease("door");
    let counted = 0;
    channel.feed(door.lease, {
      video: () => {
        counted++;
      },
      audio: () => undefined,
    });
    // The camera's taps are called as the pipeline feeds its sources: each frame is counted (or not) at once.
    const frame = { width: 16, height: 16, data: new Uint8Array(16 * 16 * 1.5) };
    door.frame(frame);
    expect(counted).toBe(1);
    channel.close();
    door.frame(frame);
    door.frame(frame);
    expect(counted).toBe(1);
    door.stop();
  });

  it("messages to a process that has just died are dropped, never an error the bot would die of", async () => {
    host = new LiveKitHost(log);
    const h = handlers();
    const channel = await open(host, h);
    const [pid] = processes();
    if (pid === undefined) throw new Error("no LiveKit process");
    process.kill(pid, "SIGKILL");
    // The process is gone before the bot's event loop reads the channel's end: a send in between writes to a pipe
    // nobody reads (EPIPE).
    const until = performance.now() + 200;
    while (performance.now() < until) {
      // Held on purpose: no event may tell the bot the process went.
    }
    channel.send({ t: "encode", id: channel.id, req: 1 });
    // The feed's message, and the camera's frame on the media pipe.
    const door = handLease("door");
    const feed = channel.feed(door.lease, { video: () => undefined, audio: () => undefined });
    door.frame({ width: 2, height: 2, data: new Uint8Array(6) });
    await waitFor("the call to hear the process went", () => h.goneWith.length > 0, { timeoutMs: 10_000 });
    feed.stop();
    channel.close();
    door.stop();
  }, 60_000);
});
