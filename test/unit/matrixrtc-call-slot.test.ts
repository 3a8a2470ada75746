/**
 * RtcRoomApi.openCallSlot (src/matrixrtc/rtc-room-api.ts) with a scripted request function: the MSC4143 slot
 * matrix-js-sdk 43 needs before it rings is read first and PUT (open) only when it is missing or not open; a
 * homeserver error other than 404 on the read, or a refused PUT, is thrown for the call to log. The real run (the
 * bot's ring valid in js-sdk 43) is test/e2e/matrixrtc-element-call.test.ts.
 */
import { describe, expect, it } from "vitest";
import { RtcRoomApi, type DoRequest } from "../../src/matrixrtc/rtc-room-api.ts";

type Call = { method: string; endpoint: string; body: unknown };
const SLOT = "/_matrix/client/v3/rooms/!r%3Ahs/state/org.matrix.msc4143.rtc.slot/m.call%23ROOM";

function matrixError(statusCode: number, errcode: string): Error {
  return Object.assign(new Error(errcode), { statusCode, errcode });
}

/** The current slot content (or an error for the GET), and what a PUT answers. */
function homeserver(current: unknown, put: unknown = { event_id: "$slot" }): { api: RtcRoomApi; calls: Call[] } {
  const calls: Call[] = [];
  const doRequest: DoRequest = (method, endpoint, _qs, body) => {
    calls.push({ method, endpoint, body });
    const answer = method === "GET" ? current : put;
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { api: new RtcRoomApi(doRequest), calls };
}

const OPEN = { status: "open", application: { type: "m.call" } };

describe("RtcRoomApi.openCallSlot", () => {
  it("no slot (404): PUTs it open", async () => {
    const { api, calls } = homeserver(matrixError(404, "M_NOT_FOUND"));
    expect(await api.openCallSlot("!r:hs")).toBe(true);
    expect(calls).toEqual([
      { method: "GET", endpoint: SLOT, body: undefined },
      { method: "PUT", endpoint: SLOT, body: OPEN },
    ]);
  });

  it("a closed or emptied slot: PUTs it open", async () => {
    for (const content of [{ status: "closed", application: { type: "m.call" } }, {}]) {
      const { api, calls } = homeserver(content);
      expect(await api.openCallSlot("!r:hs")).toBe(true);
      expect(calls.map((c) => c.method)).toEqual(["GET", "PUT"]);
    }
  });

  it("already open: no PUT", async () => {
    const { api, calls } = homeserver({ ...OPEN, extra: 1 });
    expect(await api.openCallSlot("!r:hs")).toBe(false);
    expect(calls.map((c) => c.method)).toEqual(["GET"]);
  });

  it("a refused PUT (too little power) or a failed read throws, for the call to log and go on", async () => {
    await expect(homeserver(matrixError(404, "M_NOT_FOUND"), matrixError(403, "M_FORBIDDEN")).api.openCallSlot("!r:hs")).rejects.toThrow(
      "M_FORBIDDEN",
    );
    await expect(homeserver(matrixError(500, "M_UNKNOWN")).api.openCallSlot("!r:hs")).rejects.toThrow("M_UNKNOWN");
  });
});
