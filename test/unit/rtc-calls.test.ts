/** RtcCalls' pure parts: the sentences a user reads when a MatrixRTC call cannot be placed, and admission's view. */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { CallRegistry } from "../../src/admission/refusal.ts";
import { combinedRegistry } from "../../src/matrixrtc/combined-calls.ts";
import { RtcCalls, type RtcCallsDeps } from "../../src/matrixrtc/rtc-calls.ts";
import { startFailureText } from "../../src/matrixrtc/start-failure-text.ts";

const log = pino({ level: "silent" });

function calls(over: Partial<RtcCallsDeps>): RtcCalls {
  const base: RtcCallsDeps = {
    // Never reached: every case below ends before the first request.
    client: {
      doRequest: () => Promise.reject(new Error("no homeserver")),
      getRoomStateEvent: () => Promise.reject(new Error("no homeserver")),
    },
    homeserverUrl: "http://hs",
    accessToken: "t",
    userId: "@bot:x",
    deviceId: "DEV",
    hub: {
      acquire: () => {
        throw new Error("no camera in this test");
      },
    },
    log,
  };
  return new RtcCalls({ ...base, ...over });
}

/** A platform without rtc-node: the LiveKit process says so as it starts. */
const noRtcNode: RtcCallsDeps["liveKit"] = {
  unavailableReason: () => "@livekit/rtc-node is not installed",
  open: () => Promise.resolve({ ok: false, reason: "@livekit/rtc-node is not installed" }),
  stop: () => Promise.resolve(),
  residentBytes: () => 0,
};

describe("RtcCalls.place, before any request", () => {
  it("says rtc-node is unavailable in one sentence", async () => {
    const placed = await calls({ liveKit: noRtcNode }).place("!r:x", "@a:x", "cam");
    expect(placed).toEqual({ ok: false, text: "MatrixRTC unavailable: @livekit/rtc-node is not installed." });
  });

  it("says a login without a device cannot place MatrixRTC calls", async () => {
    const placed = await calls({ deviceId: undefined }).place("!r:x", "@a:x", "cam");
    expect(placed.ok).toBe(false);
    expect(!placed.ok && placed.text).toContain("device ID");
  });
});

describe("startFailureText", () => {
  it("no focus: what to do, without the long list of places", () => {
    const text = startFailureText("could not start: no MatrixRTC focus (MISSING_MATRIX_RTC_FOCUS): config absent; rtc/transports 404");
    expect(text).toContain("no LiveKit focus was found");
    expect(text).toContain("matrixRtc.livekitServiceUrl");
    expect(text).not.toContain("404");
  });

  it("a room where the bot may not send call.member: what to do", () => {
    expect(
      startFailureText(
        "could not start: M_FORBIDDEN: You don't have permission to post that to the room. user_level (0) < send_level (50)",
      ),
    ).toContain("power level");
  });

  it("a focus that refuses the token, or does not answer: which one, and who can check it", () => {
    const refused = startFailureText(
      "could not start: the MatrixRTC focus https://jwt.example/sfu/get refused a LiveKit token: 401 (M_UNAUTHORIZED: unknown homeserver)",
    );
    expect(refused).toBe(
      "MatrixRTC call not placed: the call server (LiveKit focus https://jwt.example/sfu/get) refused me a token: 401 (M_UNAUTHORIZED: unknown homeserver); an admin can check it with doctor.",
    );
    // Its M_FORBIDDEN is the focus's, not the room's power levels.
    expect(
      startFailureText("could not start: the MatrixRTC focus https://jwt.example/sfu/get refused a LiveKit token: 403 (M_FORBIDDEN: no)"),
    ).toContain("refused me a token: 403 (M_FORBIDDEN: no)");
    expect(startFailureText("could not start: the MatrixRTC focus http://127.0.0.1:9/sfu/get did not answer: fetch failed")).toBe(
      "MatrixRTC call not placed: the call server (LiveKit focus http://127.0.0.1:9/sfu/get) did not answer; an admin can check it with doctor.",
    );
  });

  it("anything else: the reason, cut short", () => {
    expect(startFailureText("could not start: boom")).toBe("MatrixRTC call not placed: could not start: boom.");
    expect(startFailureText("x".repeat(1000)).length).toBeLessThan(400);
  });
});

describe("combinedRegistry", () => {
  const legacy = (inRoom: string | undefined, active: number, max: number | undefined): CallRegistry & { activeCount(): number } => ({
    callInRoom: (roomId) => (roomId === inRoom ? {} : undefined),
    atCapacity: () => active >= (max ?? Infinity),
    activeCount: () => active,
    maxConcurrent: max,
  });

  it("a room is busy with a legacy call; with none and no RTC call it is free", () => {
    const reg = combinedRegistry(legacy("!busy:x", 1, 8), calls({}));
    expect(reg.callInRoom("!busy:x")).toBeDefined();
    expect(reg.callInRoom("!free:x")).toBeUndefined();
    expect(reg.maxConcurrent).toBe(8);
  });

  it("capacity counts the legacy calls (and the RTC ones: none here)", () => {
    expect(combinedRegistry(legacy(undefined, 2, 2), calls({})).atCapacity()).toBe(true);
    expect(combinedRegistry(legacy(undefined, 1, 2), calls({})).atCapacity()).toBe(false);
    expect(combinedRegistry(legacy(undefined, 100, undefined), calls({})).atCapacity()).toBe(false);
  });
});
