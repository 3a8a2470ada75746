/** calls.defaultCamera: the camera a call placed to the bot shows. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config/load.ts";

function config(calls?: Record<string, unknown>): unknown {
  return {
    homeserver: { url: "https://matrix.example.org", accessToken: "syt_token" },
    allowedUsers: ["@alice:example.org"],
    cameras: [
      { name: "door", url: "rtsp://10.0.0.2/a" },
      { name: "garden", url: "rtsp://10.0.0.3/b" },
    ],
    ...(calls !== undefined ? { calls } : {}),
  };
}

function problemsOf(input: unknown): { key: string; message: string }[] {
  try {
    parseConfig(input);
  } catch (err: unknown) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

describe("calls.defaultCamera", () => {
  it("is absent by default (the call manager then takes the first camera)", () => {
    expect(parseConfig(config()).calls.defaultCamera).toBeUndefined();
    expect(parseConfig(config({ inviteLifetimeMs: 30_000 })).calls.defaultCamera).toBeUndefined();
  });

  it("names a configured camera", () => {
    expect(parseConfig(config({ defaultCamera: "garden" })).calls).toEqual({
      inviteLifetimeMs: 60_000,
      iceDisconnectedTimeoutMs: 30_000,
      defaultCamera: "garden",
      maxPerUserPerMinute: 6,
      maxConcurrent: 8,
    });
  });

  it("an unknown camera is an error naming the key", () => {
    expect(problemsOf(config({ defaultCamera: "attic" }))).toEqual([{ key: "calls.defaultCamera", message: 'no camera is named "attic"' }]);
  });

  it("must look like a camera name", () => {
    expect(problemsOf(config({ defaultCamera: "Not A Name" })).map((p) => p.key)).toEqual(["calls.defaultCamera"]);
  });
});
