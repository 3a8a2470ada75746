/**
 * RingEcho (src/matrixrtc/ring-echo.ts): a MatrixRTC call connects LiveKit once its ring came back in the bot's sync,
 * whether the echo comes before or after the ring's send returned its event ID; at the latest after the wait's limit,
 * or at once when the call ends.
 */
import { describe, expect, it } from "vitest";
import { RingEcho } from "../../src/matrixrtc/ring-echo.ts";

describe("RingEcho", () => {
  it("an echo after the wait began ends it: true", async () => {
    const echo = new RingEcho();
    const waiting = echo.wait("$ring", 60_000);
    echo.saw("$other");
    echo.saw("$ring");
    expect(await waiting).toBe(true);
  });

  it("an echo before the send returned (sync first) is kept: the wait ends at once", async () => {
    const echo = new RingEcho();
    echo.saw("$ring");
    expect(await echo.wait("$ring", 60_000)).toBe(true);
  });

  it("no echo: false after the limit; stop() (the call ended) ends a wait at once", async () => {
    const echo = new RingEcho();
    const started = Date.now();
    expect(await echo.wait("$ring", 30)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    const waiting = echo.wait("$ring", 60_000);
    echo.stop();
    expect(await waiting).toBe(false);
    // A late echo after the wait ended changes nothing, and a new wait for it ends at once.
    echo.saw("$ring");
    expect(await echo.wait("$ring", 60_000)).toBe(true);
  });
});
