/**
 * The LiveKit process's log lines into the bot's log (livekit-log-relay.ts): a real child process writes
 * pino's JSON lines, something else and stderr; each comes out of the bot's logger at its own level.
 */
import { spawn } from "node:child_process";
import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { relayLogs } from "../../src/matrixrtc/livekit-log-relay.ts";
import { waitFor } from "../harness/wait.ts";

describe("relayLogs", () => {
  it("keeps each line's level and fields, and logs other output as debug and stderr as warnings", async () => {
    const lines: Record<string, unknown>[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n")) if (l !== "") lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: "debug" }, out);
    const script = [
      `console.log(JSON.stringify({ level: 40, time: 1, pid: 7, hostname: "h", msg: "slow", call: "c1" }));`,
      `console.log(JSON.stringify({ level: 50, msg: "broke" }));`,
      `console.log(JSON.stringify({ level: 99, msg: "odd level" }));`,
      `console.log("not json");`,
      `console.error("native trouble");`,
    ].join("\n");
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    relayLogs(child, log);
    await waitFor("the five lines relayed", () => lines.length >= 5);
    const byMsg = (msg: string): Record<string, unknown> | undefined => lines.find((l) => l["msg"] === msg);
    expect(byMsg("slow")).toMatchObject({ level: 40, call: "c1" });
    // The bot's own pid, not the child's: the child's time, pid and hostname are left out.
    expect(byMsg("slow")?.["pid"]).toBe(process.pid);
    expect(byMsg("broke")?.["level"]).toBe(50);
    expect(byMsg("odd level")?.["level"]).toBe(30);
    expect(byMsg("LiveKit process output")).toMatchObject({ level: 20, line: "not json" });
    expect(byMsg("LiveKit process stderr")).toMatchObject({ level: 40, line: "native trouble" });
  });
});
