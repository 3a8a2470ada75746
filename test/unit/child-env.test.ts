/** What a camera front end's child process (ffmpeg, ffprobe, gst-launch-1.0) gets of the bot's environment. */
import { describe, expect, it } from "vitest";
import { childEnv, gstEnv } from "../../src/media/child-env.ts";

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
