/** Chat command parsing and the help / camera list texts. */
import { describe, expect, it } from "vitest";
import { camerasText, helpText, parseCommand } from "../../src/matrix/commands.ts";

describe("parseCommand", () => {
  it("!call with a camera", () => {
    expect(parseCommand("!call cam1")).toEqual({ kind: "call", camera: "cam1" });
  });

  it("!call without a camera leaves the camera undefined", () => {
    const cmd = parseCommand("!call");
    expect(cmd).toEqual({ kind: "call", camera: undefined });
    expect(cmd && "camera" in cmd).toBe(true);
  });

  it("!switch with a camera, lower-cased; without one the camera is undefined", () => {
    expect(parseCommand("!switch Garden")).toEqual({ kind: "switch", camera: "garden" });
    expect(parseCommand("  !SWITCH\tcam2 now ")).toEqual({ kind: "switch", camera: "cam2" });
    expect(parseCommand("!switch")).toEqual({ kind: "switch", camera: undefined });
  });

  it("!call followed only by whitespace has no camera", () => {
    expect(parseCommand("!call   \t ")).toEqual({ kind: "call", camera: undefined });
  });

  it("is case-insensitive in the command and the camera name", () => {
    expect(parseCommand("!CALL Cam1")).toEqual({ kind: "call", camera: "cam1" });
    expect(parseCommand("!Cameras")).toEqual({ kind: "cameras" });
    expect(parseCommand("!HELP")).toEqual({ kind: "help" });
    expect(parseCommand("!StOp")).toEqual({ kind: "hangup" });
  });

  it("tolerates extra whitespace around and between words, tabs and newlines", () => {
    expect(parseCommand("   !call    front-door   ")).toEqual({ kind: "call", camera: "front-door" });
    expect(parseCommand("!call\tcam2")).toEqual({ kind: "call", camera: "cam2" });
    expect(parseCommand("\n!call\ncam3\n")).toEqual({ kind: "call", camera: "cam3" });
  });

  it("takes the first argument as the camera and ignores the rest", () => {
    expect(parseCommand("!call cam1 please now")).toEqual({ kind: "call", camera: "cam1" });
  });

  it.each([["!cameras"], ["!list"], ["!cameras all"], ["!LIST"]])("%j lists the cameras", (body) => {
    expect(parseCommand(body)).toEqual({ kind: "cameras" });
  });

  it.each([["!hangup"], ["!stop"], ["!hangup now"]])("%j hangs up", (body) => {
    expect(parseCommand(body)).toEqual({ kind: "hangup" });
  });

  it("!help", () => {
    expect(parseCommand("!help")).toEqual({ kind: "help" });
    expect(parseCommand("!help call")).toEqual({ kind: "help" });
  });

  it("an unknown command keeps its word as typed", () => {
    expect(parseCommand("!dance")).toEqual({ kind: "unknown", word: "dance" });
    expect(parseCommand("!Dance now")).toEqual({ kind: "unknown", word: "Dance" });
    // A word glued to a known one is not that command.
    expect(parseCommand("!callcam1")).toEqual({ kind: "unknown", word: "callcam1" });
    expect(parseCommand("!!call")).toEqual({ kind: "unknown", word: "!call" });
  });

  it.each([
    ["plain text", "hello there"],
    ["text mentioning a command", "please !call cam1"],
    ["empty", ""],
    ["whitespace", "   \n\t"],
    ["a lone !", "!"],
    ["a ! followed by whitespace", "!   "],
    ["a ! separated from the word", "! call cam1"],
    ["a slash command", "/call cam1"],
  ])("%s is not a command", (_label, body) => {
    expect(parseCommand(body)).toBeUndefined();
  });

  it("very long input: an unknown word is cut to 32 characters", () => {
    const cmd = parseCommand("!" + "x".repeat(100_000));
    expect(cmd).toEqual({ kind: "unknown", word: "x".repeat(32) });
  });

  it("very long input: a long argument list does not matter", () => {
    expect(parseCommand("!call cam1 " + "junk ".repeat(20_000))).toEqual({ kind: "call", camera: "cam1" });
    expect(parseCommand(" ".repeat(50_000) + "!help" + " ".repeat(50_000))).toEqual({ kind: "help" });
    expect(parseCommand("a".repeat(100_000))).toBeUndefined();
  });
});

describe("helpText", () => {
  it("lists every command and the cameras", () => {
    const text = helpText(["cam1", "door"]);
    const lines = text.split("\n");
    expect(lines[0]).toBe("Commands:");
    for (const cmd of ["!call <camera>", "!switch <camera>", "!cameras", "!hangup", "!help"]) {
      expect(lines.some((l) => l.startsWith(cmd + " "))).toBe(true);
    }
    expect(lines.at(-1)).toBe("Cameras: cam1, door");
  });

  it("every command it names parses as that command", () => {
    const text = helpText(["cam1"]);
    const commands = text
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => parseCommand(l.replace(/ —.*$/, "").replace("<camera>", "cam1")));
    expect(commands).toEqual([
      { kind: "call", camera: "cam1" },
      { kind: "switch", camera: "cam1" },
      { kind: "cameras" },
      { kind: "hangup" },
      { kind: "status" },
      { kind: "ring", via: undefined },
      { kind: "help" },
    ]);
  });

  it("with no cameras the list is empty", () => {
    expect(helpText([]).split("\n").at(-1)).toBe("Cameras: ");
  });
});

describe("camerasText", () => {
  it("one line per camera, with the description when there is one", () => {
    expect(
      camerasText([
        { name: "cam1", description: undefined },
        { name: "door", description: "Front door" },
      ]),
    ).toBe("Cameras:\n• cam1\n• door — Front door");
  });

  it("no cameras: only the header", () => {
    expect(camerasText([])).toBe("Cameras:");
  });
});
