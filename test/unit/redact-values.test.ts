/**
 * Redaction by value (M2) and its cost (L11): the configuration's secrets, whatever characters they hold, never
 * reach a log line, whether ffmpeg prints them plain, percent-encoded or inside a JSON string.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/load.ts";
import { createLogger } from "../../src/util/logger.ts";
import { addSecret, clearSecrets, redactSecrets, urlCredentials, urlLabel } from "../../src/util/redact.ts";

afterEach(() => {
  clearSecrets();
});

/** Camera URLs whose credentials the old user-info pattern let through, with the parts that must never be logged. */
const CAMERAS = [
  { url: "rtsp://admin:it's@10.0.0.5:554/s", secrets: ["it's", "admin:it's"] },
  { url: "rtsp://admin:my secret pw@10.0.0.5:554/s", secrets: ["my secret pw"] },
  { url: 'rtsp://admin:quo"te pw@10.0.0.5:554/s', secrets: ['quo"te pw'] },
  {
    url: "rtsp://10.0.0.6:554/user=admin_password=s3cr_et!x_channel=1_stream=0.sdp",
    secrets: ["s3cr_et!x", "user=admin_password=s3cr_et!x"],
  },
  { url: "http://cam/video.cgi?user=admin&pwd=secret-Foscam", secrets: ["secret-Foscam"] },
  { url: "rtsp://admin:p%40ss%27w0rd@10.0.0.7/live", secrets: ["p%40ss%27w0rd", "p@ss'w0rd"] },
];

/** What ffmpeg 5.1 prints about an input it cannot open, and its input banner. */
function ffmpegLines(url: string): string[] {
  return [
    `${url}: Connection refused`,
    `Input #0, rtsp, from '${url}':`,
    `[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized "${url}"`,
    `${encodeURIComponent(url)}: x`,
  ];
}

function loadCameras(): void {
  parseConfig({
    homeserver: { url: "https://matrix.example.org", accessToken: "syt_token with space'and quote" },
    allowedUsers: ["@alice:example.org"],
    cameras: CAMERAS.map((c, i) => ({ name: `cam${i}`, url: c.url })),
    http: { listen: "127.0.0.1:0" },
    triggers: {
      webhook: { token: 'webhook "token" 0815!' },
      mqtt: { url: "mqtt://127.0.0.1:1883", username: "bot", password: "mqtt pass'word" },
    },
  });
}

describe("redaction by value", () => {
  it("removes every camera credential the patterns missed, in every form ffmpeg prints it", () => {
    loadCameras();
    for (const camera of CAMERAS) {
      for (const line of ffmpegLines(camera.url)) {
        const out = redactSecrets(line);
        for (const secret of camera.secrets) expect(out, line).not.toContain(secret);
        expect(out).not.toContain("admin");
      }
    }
    // The whole URL is shown as scheme://host:port only.
    expect(redactSecrets(`${CAMERAS[3]?.url ?? ""}: Connection refused`)).toBe("rtsp://10.0.0.6:554/…: Connection refused");
  });

  it("removes the access token, webhook token and MQTT password from JSON log lines of a real logger", () => {
    loadCameras();
    const raw: string[] = [];
    const log = createLogger({ destination: { write: (s: string) => void raw.push(s) } });
    log.warn({ ffmpeg: ffmpegLines(CAMERAS[2]?.url ?? "") }, "camera stream ended; reconnecting");
    log.info({ header: "Bearer syt_token with space'and quote", body: 'webhook "token" 0815!' }, "request mqtt pass'word");
    log.error(`sdk: ${encodeURIComponent("syt_token with space'and quote")}`);
    const text = raw.join("");
    expect(raw).toHaveLength(3);
    for (const line of raw) expect(() => JSON.parse(line) as unknown).not.toThrow();
    for (const secret of ["syt_token", 'webhook \\"token\\"', "0815!", "mqtt pass'word", 'quo\\"te', "te pw"])
      expect(text).not.toContain(secret);
    expect(text).toContain("Bearer ***");
  });

  it("finds the credentials of a URL: user info and credential-looking path and query values", () => {
    expect(urlCredentials("rtsp://ip:554/user=admin_password=secret_channel=1")).toEqual(["admin", "secret"]);
    expect(urlCredentials("http://cam/video.cgi?user=admin&pwd=secret")).toEqual(["admin", "secret"]);
    expect(urlCredentials("rtsp://admin:it's@10.0.0.5/s")).toEqual(["admin:it's", "admin", "it's"]);
    expect(urlCredentials("rtsp://10.0.0.5/Streaming/Channels/101")).toEqual([]);
    expect(urlLabel("rtsp://admin:x@10.0.0.5:554/s?a=b")).toBe("rtsp://***@10.0.0.5:554/…");
    expect(urlLabel("rtsp://10.0.0.5")).toBe("rtsp://10.0.0.5");
  });

  it("redacts credential parameters of any URL by pattern, and leaves ordinary text alone", () => {
    expect(redactSecrets("http://other/cgi?usr=root&pwd=hunter22 failed")).toBe("http://other/cgi?usr=***&pwd=*** failed");
    expect(redactSecrets("rtsp://other/user=root_password=hunter22_channel=2: refused")).toBe(
      "rtsp://other/user=***_password=***_channel=2: refused",
    );
    const plain = "frame=  100 fps= 15 q=-0.0 size=N/A time=00:00:06.66 bitrate=N/A speed=1.0x; call from @alice:example.org";
    expect(redactSecrets(plain)).toBe(plain);
  });

  it("ignores values too short to replace safely and is idempotent", () => {
    addSecret("pw");
    expect(redactSecrets("pwd pw")).toBe("pwd pw");
    addSecret("hunter22");
    const once = redactSecrets("rtsp://a:hunter22@h/x hunter22");
    expect(once).toBe("rtsp://***@h/x ***");
    expect(redactSecrets(once)).toBe(once);
  });
});

describe("redaction cost (L11)", () => {
  it("redacts a 16 KiB line of letters in linear time, and cuts long lines", () => {
    const line = "a".repeat(16 * 1024);
    redactSecrets(line); // warm up the regex engine
    const started = performance.now();
    const out = redactSecrets(line, 1024);
    const ms = performance.now() - started;
    // Unanchored, this took 194 ms (quadratic); anchored it takes well under 1 ms. 50 ms leaves room for a busy machine.
    expect(ms).toBeLessThan(50);
    expect(out).toHaveLength(1025);
    const schemes = "ab://".repeat(4000);
    const t2 = performance.now();
    redactSecrets(schemes);
    expect(performance.now() - t2).toBeLessThan(50);
  });
});
