/** Secret hygiene of logging: URL user-info redaction and pino's field redaction. */
import { describe, expect, it } from "vitest";
import { createLogger, errorMessage, redactSecrets, redactUrl } from "../../src/util/logger.ts";

describe("redactUrl", () => {
  it.each([
    ["rtsp://admin:pw@10.0.0.2/x", "rtsp://***@10.0.0.2/x"],
    ["rtsp://admin@10.0.0.2:554/x", "rtsp://***@10.0.0.2:554/x"],
    ["RTSPS://Admin:Pw@cam.local/x", "RTSPS://***@cam.local/x"],
    ["https://u:p@matrix.example.org/_matrix", "https://***@matrix.example.org/_matrix"],
    ["rtsp://:pw@10.0.0.2/x", "rtsp://***@10.0.0.2/x"],
  ])("%j → %j", (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });

  it.each([["rtsp://10.0.0.2/x"], ["rtsp://10.0.0.2/path@with-at"], ["/videos/loop.mp4"], ["demo://"], [""]])(
    "leaves %j unchanged",
    (input) => {
      expect(redactUrl(input)).toBe(input);
    },
  );
});

describe("redactSecrets", () => {
  it("removes the user info from the URL inside an ffmpeg input line", () => {
    expect(redactSecrets("Input #0, rtsp, from 'rtsp://admin:pw@10.0.0.2/x':")).toBe("Input #0, rtsp, from 'rtsp://***@10.0.0.2/x':");
  });

  it("handles double quotes, several URLs and several lines", () => {
    const text = [
      `[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized "rtsp://cam:hunter2@10.0.0.3:554/live"`,
      "rtsp://admin:pw@10.0.0.2/x: Connection refused; retrying http://u:p@proxy:8080/ and rtsp://10.0.0.4/ok",
    ].join("\n");
    const out = redactSecrets(text);
    expect(out).toBe(
      [
        `[rtsp @ 0x55] method DESCRIBE failed: 401 Unauthorized "rtsp://***@10.0.0.3:554/live"`,
        "rtsp://***@10.0.0.2/x: Connection refused; retrying http://***@proxy:8080/ and rtsp://10.0.0.4/ok",
      ].join("\n"),
    );
    for (const secret of ["hunter2", "admin:pw", "u:p@"]) expect(out).not.toContain(secret);
  });

  it("leaves text without URL credentials alone (user IDs, e-mail addresses, plain URLs)", () => {
    const text = "call from @alice:example.org (alice@example.org) to rtsp://10.0.0.2/x at 12:00";
    expect(redactSecrets(text)).toBe(text);
  });

  it("is idempotent", () => {
    const once = redactSecrets("from 'rtsp://admin:pw@10.0.0.2/x'");
    expect(redactSecrets(once)).toBe(once);
  });
});

describe("errorMessage", () => {
  it("redacts the message of an Error", () => {
    expect(errorMessage(new Error("rtsp://admin:pw@10.0.0.2/x: Invalid data found when processing input"))).toBe(
      "rtsp://***@10.0.0.2/x: Invalid data found when processing input",
    );
  });

  it("turns non-Errors into strings, redacted", () => {
    expect(errorMessage("open 'rtsp://a:b@h/x' failed")).toBe("open 'rtsp://***@h/x' failed");
    expect(errorMessage(42)).toBe("42");
    expect(errorMessage(undefined)).toBe("undefined");
    expect(errorMessage(null)).toBe("null");
  });
});

/** A logger writing JSON lines into memory. */
function memoryLogger(level = "info"): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[]; raw: string[] } {
  const raw: string[] = [];
  const log = createLogger({ level, destination: { write: (s: string) => void raw.push(s) } });
  return { log, raw, lines: () => raw.map((s) => JSON.parse(s) as Record<string, unknown>) };
}

describe("createLogger with a destination", () => {
  it("writes JSON lines with the app name and the message", () => {
    const { log, lines } = memoryLogger();
    log.info({ camera: "cam1" }, "hello");
    expect(lines()).toEqual([expect.objectContaining({ app: "matrix-camera-call", camera: "cam1", msg: "hello", level: 30 })]);
  });

  it("respects the level", () => {
    const { log, raw } = memoryLogger("warn");
    log.info("not written");
    log.debug("not written");
    log.warn("written");
    expect(raw).toHaveLength(1);
  });

  it("redacts accessToken, password and token at the top level", () => {
    const { log, raw, lines } = memoryLogger();
    log.info(
      { accessToken: "syt_SECRET1", password: "SECRET2", token: "SECRET3", access_token: "SECRET4", user: "@c:example.org" },
      "login",
    );
    expect(lines()[0]).toMatchObject({
      accessToken: "[redacted]",
      password: "[redacted]",
      token: "[redacted]",
      access_token: "[redacted]",
      user: "@c:example.org",
    });
    expect(raw.join("")).not.toMatch(/SECRET/);
  });

  it("redacts nested *.token, *.password and *.accessToken fields", () => {
    const { log, raw, lines } = memoryLogger();
    log.info(
      {
        login: { token: "SECRET-A", deviceId: "DEV" },
        homeserver: { url: "https://m.example.org", accessToken: "SECRET-B", password: "SECRET-C" },
        headers: { authorization: "Bearer SECRET-D" },
      },
      "nested",
    );
    expect(lines()[0]).toMatchObject({
      login: { token: "[redacted]", deviceId: "DEV" },
      homeserver: { url: "https://m.example.org", accessToken: "[redacted]", password: "[redacted]" },
      headers: { authorization: "[redacted]" },
    });
    expect(raw.join("")).not.toContain("SECRET");
  });

  it("child loggers redact too", () => {
    const { log, raw } = memoryLogger();
    log.child({ call: "c1" }).warn({ password: "SECRET-E", turn: { token: "SECRET-F" } }, "child");
    expect(raw).toHaveLength(1);
    expect(raw.join("")).not.toContain("SECRET");
    expect(raw.join("")).toContain('"call":"c1"');
  });

  it("does not touch the logged object", () => {
    const { log } = memoryLogger();
    const obj = { password: "kept", nested: { token: "kept" } };
    log.info(obj, "x");
    expect(obj).toEqual({ password: "kept", nested: { token: "kept" } });
  });
});
