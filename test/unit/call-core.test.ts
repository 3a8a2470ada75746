/**
 * The call core with a signalling of its own (as a MatrixRTC call will bring): the core runs the
 * machine's core actions itself (timers, hangup, terminate) and hands the rest to the signalling;
 * every ending goes through one terminate() that releases the camera once and emits "ended" once.
 */
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { CallCore, type CallEnd, type CallPort, type Signalling } from "../../src/call/call-core.ts";
import {
  CallState,
  iceStep,
  ignore,
  type CoreAction,
  type CoreInput,
  type EndReason,
  type MachineContext,
  type Step,
} from "../../src/call/state.ts";
import type { HangupReason } from "../../src/call/wire.ts";
import type { CameraLease } from "../../src/media/camera-hub.ts";
import { handLease } from "../harness/hand-lease.ts";
import { waitFor } from "../harness/wait.ts";

type Input = CoreInput | { kind: "joined" };
type Own = { kind: "greet" };

/** A toy machine: "joined" → Connecting with the ICE timer and a greeting; the timer ends the call with a hangup. */
function toyTransition(ctx: MachineContext, input: Input): Step<MachineContext, Own | CoreAction> {
  if (ctx.state === CallState.Ended) return ignore(ctx, "ended");
  const end = (party: "local" | "remote", reason: EndReason, send?: HangupReason): Step<MachineContext, Own | CoreAction> => {
    const actions: (Own | CoreAction)[] = [{ kind: "clear_timer", timer: "iceDisconnected" }];
    if (send !== undefined) actions.push({ kind: "send_hangup", reason: send });
    actions.push({ kind: "terminate", party, reason });
    return { next: { ...ctx, state: CallState.Ended }, actions };
  };
  switch (input.kind) {
    case "joined":
      return {
        next: { ...ctx, state: CallState.Connecting },
        actions: [{ kind: "greet" }, { kind: "start_timer", timer: "iceDisconnected" }],
      };
    case "timer":
      return end("local", "ice_failed", "ice_failed");
    case "ice":
      return iceStep(ctx, input.state, () => end("local", "ice_failed", "ice_failed"));
    case "local_hangup":
    case "failure":
      return end("local", "user_hangup", "user_hangup");
    case "remote_left":
      return end("remote", "remote_hangup");
  }
}

class ToySignalling implements Signalling<MachineContext, Input, Own> {
  readonly direction = "outgoing";
  readonly version = "1";
  readonly transition = toyTransition;
  readonly ran: Own[] = [];
  endedCalls = 0;
  constructor(readonly port: CallPort<MachineContext, Input>) {}
  initialContext(): MachineContext {
    return { state: CallState.Preparing, hadMedia: false };
  }
  timerMs(): number {
    return 20;
  }
  start(): Promise<void> {
    this.port.dispatch({ kind: "joined" });
    return Promise.resolve();
  }
  run(action: Own): void {
    this.ran.push(action);
  }
  ended(): void {
    this.endedCalls++;
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function toyCall(): {
  call: CallCore<MachineContext, Input, Own, ToySignalling>;
  sent: { type: string; content: Record<string, unknown> }[];
  releases: string[];
} {
  const sent: { type: string; content: Record<string, unknown> }[] = [];
  const releases: string[] = [];
  const lease = (camera: string): CameraLease => {
    const hand = handLease(camera, () => releases.push(camera));
    cleanups.push(() => {
      hand.stop();
    });
    return hand.lease;
  };
  const call = new CallCore(
    { callId: "c1", roomId: "!r:x", partyId: "BOT", peer: "@alice:x" },
    lease("front"),
    (type, content) => {
      sent.push({ type, content });
      return Promise.resolve();
    },
    pino({ level: "silent" }),
    (port: CallPort<MachineContext, Input>) => new ToySignalling(port),
  );
  return { call, sent, releases };
}

describe("CallCore with a signalling of its own", () => {
  it("runs the core actions itself, hands the others to the signalling, and ends through one terminate()", async () => {
    const { call, sent, releases } = toyCall();
    const states: CallState[] = [];
    const ends: CallEnd[] = [];
    call.on("state", (s) => states.push(s));
    call.on("ended", (e) => ends.push(e));
    expect(call.peer).toBe("@alice:x");
    expect(call.camera).toBe("front");

    await call.start();
    expect(call.state).toBe(CallState.Connecting);
    expect(call.signalling.ran).toEqual([{ kind: "greet" }]);

    // The ICE timer the machine asked for fires after the signalling's timerMs and ends the call.
    await waitFor("the timer to end the call", () => ends[0], { timeoutMs: 2000 });
    expect(states).toEqual([CallState.Connecting, CallState.Ended]);
    expect(sent).toEqual([{ type: "m.call.hangup", content: { call_id: "c1", version: "1", party_id: "BOT", reason: "ice_failed" } }]);
    expect(ends).toEqual([{ callId: "c1", roomId: "!r:x", direction: "outgoing", party: "local", reason: "ice_failed", connected: false }]);
    expect(releases).toEqual(["front"]);
    expect(call.signalling.endedCalls).toBe(1);

    // After the end nothing more happens: no second hangup, no second release.
    call.hangup();
    call.remoteLeft();
    expect(sent).toHaveLength(1);
    expect(ends).toHaveLength(1);
    expect(releases).toEqual(["front"]);
  });

  it("a camera switched to after the end is released at once and the switch refused", async () => {
    const { call, releases } = toyCall();
    await call.start();
    call.remoteLeft();
    expect(call.state).toBe(CallState.Ended);
    const back = handLease("back", () => releases.push("back"));
    cleanups.push(() => {
      back.stop();
    });
    await expect(call.switchCamera(back.lease)).rejects.toThrow("the call has ended");
    expect(releases).toEqual(["front", "back"]);
  });
});
