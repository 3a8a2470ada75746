/** What a camera front end's child process (ffmpeg, ffprobe, gst-launch-1.0) gets of the bot's environment. */
import { describe, expect, it } from "vitest";
import { childEnv, gstEnv } from "../../src/media/child-env.ts";
import { liveKitChildEnv } from "../../src/matrixrtc/livekit-process.ts";

describe("childEnv", () => {
  it("passes the search path, locale and GStreamer's plugin settings, never the bot's secrets", () => {
    const env = childEnv({
      PATH: "/usr/bin",
      LC_ALL: "C.UTF-8",
      GST_PLUGIN_PATH: "/opt/gst",
      GST_REGISTRY_1_0: "/data/registry.bin",
      MCC_ACCESS_TOKEN: "syt_secret",
      MCC_WEBHOOK_TOKEN: "hook",
      CAMERA_PASSWORD: "pw",
      GST_DEBUG: "5",
    });
    expect(env).toEqual({ PATH: "/usr/bin", LC_ALL: "C.UTF-8", GST_PLUGIN_PATH: "/opt/gst", GST_REGISTRY_1_0: "/data/registry.bin" });
  });

  it("runs gst-launch-1.0 in the C locale, whose messages the front end reads", () => {
    const env = gstEnv({ PATH: "/usr/bin", LANG: "de_DE.UTF-8", LANGUAGE: "de", LC_MESSAGES: "de_DE.UTF-8", MCC_PASSWORD: "pw" });
    expect(env).toEqual({ PATH: "/usr/bin", LANG: "de_DE.UTF-8", LC_ALL: "C" });
  });
});

describe("liveKitChildEnv", () => {
  it("gives the LiveKit process the launcher's malloc settings and preload and the log level, never the bot's secrets", () => {
    const env = liveKitChildEnv(
      {
        PATH: "/usr/bin",
        LD_PRELOAD: "/srv/zero-pages.so",
        MALLOC_ARENA_MAX: "2",
        MALLOC_MMAP_THRESHOLD_: "4194304",
        MALLOC_TRIM_THRESHOLD_: "8388608",
        NODE_ENV: "production",
        MCC_ACCESS_TOKEN: "syt_secret",
        MCC_PASSWORD: "pw",
        MCC_WEBHOOK_TOKEN: "hook",
        NODE_OPTIONS: "--require /tmp/x.js",
      },
      "debug",
    );
    expect(env).toEqual({
      PATH: "/usr/bin",
      LD_PRELOAD: "/srv/zero-pages.so",
      MALLOC_ARENA_MAX: "2",
      MALLOC_MMAP_THRESHOLD_: "4194304",
      MALLOC_TRIM_THRESHOLD_: "8388608",
      NODE_ENV: "production",
      LOG_LEVEL: "debug",
    });
  });
});
