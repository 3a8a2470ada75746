/**
 * rtc-node's own pino logger (name lk-rtc, debug level, straight to stdout) is routed into the bot's logger once
 * rtc-node is loaded (src/matrixrtc/rtc-node.ts): its lines come out with component lk-rtc at the bot's level, and
 * the bot's level filters them, so its debug lines no longer reach stdout beside the bot's own.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadRtcNode, setRtcNodeLogger } from "../../src/matrixrtc/rtc-node.ts";

const lineSchema = z.object({ level: z.number(), msg: z.string(), component: z.string() }).loose();

function capture(level: string): { log: pino.Logger; lines: z.infer<typeof lineSchema>[] } {
  const lines: z.infer<typeof lineSchema>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(lineSchema.parse(JSON.parse(chunk.toString())));
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

/** rtc-node's logger, the instance its modules use (the package exports it nowhere). */
function rtcNodeLog(): { debug(msg: string): void; warn(msg: string): void } {
  const require = createRequire(import.meta.url);
  const mod = require(path.join(path.dirname(require.resolve("@livekit/rtc-node")), "log.cjs")) as {
    log: { debug(msg: string): void; warn(msg: string): void };
  };
  return mod.log;
}

describe("rtc-node's log lines", () => {
  it("go to the bot's logger as component lk-rtc, filtered by the bot's level", async () => {
    const loaded = await loadRtcNode();
    expect(loaded.ok).toBe(true);
    const { log, lines } = capture("info");
    setRtcNodeLogger(log);
    rtcNodeLog().debug("Connect callback received");
    rtcNodeLog().warn("RoomEvent.TrackSubscribed: something");
    await new Promise<void>((resolve) => {
      setImmediate(resolve);
    });
    expect(lines).toEqual([expect.objectContaining({ level: 40, msg: "RoomEvent.TrackSubscribed: something", component: "lk-rtc" })]);
  });
});
