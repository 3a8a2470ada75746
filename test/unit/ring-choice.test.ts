/** The per-user ring choice: config default, per-user config, `!ring` kept across restarts, a broken file ignored. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { helpText, parseCommand } from "../../src/matrix/commands.ts";
import { RingChoices, ringChoiceText } from "../../src/matrixrtc/ring-choice.ts";

function capture(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino(
    { level: "info" },
    {
      write: (line: string) => {
        lines.push(line);
      },
    },
  );
  return { log, lines };
}

const dir = (): string => mkdtempSync(path.join(tmpdir(), "mcc-ring-"));
const config = { ringVia: "legacy" as const, ringViaUsers: { "@bob:x": "both" as const } };

describe("RingChoices", () => {
  it("uses the config's default and per-user entries until a user chooses", () => {
    const choices = new RingChoices(dir(), config, capture().log);
    expect(choices.for("@alice:x")).toBe("legacy");
    expect(choices.for("@bob:x")).toBe("both");
    expect(choices.isOwnChoice("@bob:x")).toBe(false);
  });

  it("keeps a !ring choice across a restart, over the config's", () => {
    const d = dir();
    new RingChoices(d, config, capture().log).set("@bob:x", "matrixrtc");
    const again = new RingChoices(d, config, capture().log);
    expect(again.for("@bob:x")).toBe("matrixrtc");
    expect(again.isOwnChoice("@bob:x")).toBe(true);
    expect(again.for("@alice:x")).toBe("legacy");
    expect(JSON.parse(readFileSync(path.join(d, "ring-choices.json"), "utf8"))).toEqual({ version: 1, users: { "@bob:x": "matrixrtc" } });
  });

  it.each([["not json {"], [JSON.stringify({ version: 1, users: { "@a:x": "carrier-pigeon" } })], [JSON.stringify([1, 2])]])(
    "a broken file (%s) is one log line and the config's choices",
    (text) => {
      const d = dir();
      writeFileSync(path.join(d, "ring-choices.json"), text);
      const { log, lines } = capture();
      const choices = new RingChoices(d, config, log);
      expect(choices.for("@a:x")).toBe("legacy");
      expect(choices.for("@bob:x")).toBe("both");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain("ring choices");
    },
  );

  it("a dataDir it cannot write to keeps the choice in memory and logs why", () => {
    const d = dir();
    writeFileSync(path.join(d, "blocker"), "a file where a directory should be");
    const { log, lines } = capture();
    const choices = new RingChoices(path.join(d, "blocker"), config, log);
    choices.set("@alice:x", "both");
    expect(choices.for("@alice:x")).toBe("both");
    expect(lines.join("")).toContain("could not keep the ring choices");
  });
});

describe("!ring", () => {
  it("parses a choice, the question and a word that is no choice", () => {
    expect(parseCommand("!ring")).toEqual({ kind: "ring", via: undefined });
    expect(parseCommand("!Ring MatrixRTC")).toEqual({ kind: "ring", via: "matrixrtc" });
    expect(parseCommand("!ring rtc")).toEqual({ kind: "ring", via: "matrixrtc" });
    expect(parseCommand("!ring both")).toEqual({ kind: "ring", via: "both" });
    expect(parseCommand("!ring legacy")).toEqual({ kind: "ring", via: "legacy" });
    expect(parseCommand("!ring pigeon")).toEqual({ kind: "ring", via: undefined, invalid: "pigeon" });
  });

  it("is in !help, and !ring alone names the choice and where it came from", () => {
    expect(helpText(["cam"])).toContain("!ring matrixrtc");
    expect(ringChoiceText("matrixrtc", true)).toContain("MatrixRTC");
    expect(ringChoiceText("legacy", false)).toContain("the bot's setting");
  });
});

describe("matrixRtc config", () => {
  const base = {
    homeserver: { url: "http://hs", accessToken: "t" },
    allowedUsers: ["@a:x"],
    cameras: [{ name: "cam", url: "demo://clock" }],
  };

  it("defaults to legacy for everyone", () => {
    expect(parseConfig(base).matrixRtc).toEqual({ ringVia: "legacy", ringViaUsers: {} });
  });

  it("takes a default and per-user choices, and refuses an unknown one", () => {
    const c = parseConfig({ ...base, matrixRtc: { ringVia: "both", ringViaUsers: { "@a:x": "matrixrtc" } } });
    expect(c.matrixRtc.ringVia).toBe("both");
    expect(c.matrixRtc.ringViaUsers["@a:x"]).toBe("matrixrtc");
    expect(() => parseConfig({ ...base, matrixRtc: { ringVia: "pigeon" } })).toThrow(/matrixRtc\.ringVia/);
    expect(() => parseConfig({ ...base, matrixRtc: { ringViaUsers: { alice: "both" } } })).toThrow(/ringViaUsers/);
  });
});
