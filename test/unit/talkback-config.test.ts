import { describe, expect, it } from "vitest";
import { cameraSchema } from "../../src/config/schema.ts";

const base = { name: "door", url: "rtsp://10.0.0.2/s" };

describe("cameras[].talkback", () => {
  it("is off unless configured (a speaker at the door is opt-in)", () => {
    expect(cameraSchema.parse(base).talkback).toBe("off");
  });

  it("takes auto, onvif and exec with a format and rate", () => {
    expect(cameraSchema.parse({ ...base, talkback: "auto" }).talkback).toBe("auto");
    expect(cameraSchema.parse({ ...base, talkback: { onvif: true } }).talkback).toEqual({ onvif: true, duckDb: 15 });
    expect(cameraSchema.parse({ ...base, talkback: { exec: ["/bin/speaker", "--x"] } }).talkback).toEqual({
      exec: ["/bin/speaker", "--x"],
      format: "s16le",
      rate: 8000,
      duckDb: 15,
    });
    expect(cameraSchema.parse({ ...base, talkback: { exec: ["cat"], format: "s16le", rate: 48000 } }).talkback).toEqual({
      exec: ["cat"],
      format: "s16le",
      rate: 48000,
      duckDb: 15,
    });
  });

  it("refuses what it cannot do, naming the key", () => {
    const bad = [
      { onvif: false },
      { exec: [] },
      { exec: "cat /dev/stdin" },
      { exec: ["cat"], format: "pcmu", rate: 16000 },
      { exec: ["cat"], rate: 44100 },
      { exec: ["cat"], format: "opus" },
      { exec: ["cat"], shell: true },
      "on",
    ];
    for (const talkback of bad) {
      const r = cameraSchema.safeParse({ ...base, talkback });
      expect(r.success, JSON.stringify(talkback)).toBe(false);
      expect(r.error?.issues[0]?.path[0]).toBe("talkback");
    }
  });
});
