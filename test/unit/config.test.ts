/**
 * Configuration: parseConfig (schema, defaults, ${VAR} expansion, env fallbacks, secret files)
 * and loadConfigFile (YAML files on disk), and the shape of ConfigError.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfigFile, parseConfig, type Config } from "../../src/config/load.ts";

type Obj = Record<string, unknown>;

/** The smallest valid configuration. */
function minimal(): Obj {
  return {
    homeserver: { url: "https://matrix.example.org", accessToken: "syt_token" },
    allowedUsers: ["@alice:example.org"],
    cameras: [{ name: "cam1", url: "rtsp://10.0.0.2/stream" }],
  };
}

function homeserver(fields: Obj): Obj {
  return { ...minimal(), homeserver: { url: "https://matrix.example.org", ...fields } };
}

function cameras(...cams: Obj[]): Obj {
  return { ...minimal(), cameras: cams };
}

/** Runs `fn`, which must throw a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

const parse = (obj: unknown, env: Record<string, string | undefined> = {}, baseDir = "/srv/mcc"): Config =>
  parseConfig(obj, { env, baseDir });
const problemsOf = (obj: unknown, env: Record<string, string | undefined> = {}): { key: string; message: string }[] => [
  ...configError(() => parse(obj, env)).problems,
];
const keysOf = (obj: unknown, env: Record<string, string | undefined> = {}): string[] => problemsOf(obj, env).map((p) => p.key);

describe("parseConfig: a valid configuration", () => {
  it("accepts the minimal configuration and fills in every default", () => {
    const config = parse(minimal());
    expect(config).toEqual({
      homeserver: {
        url: "https://matrix.example.org",
        accessToken: "syt_token",
        user: undefined,
        password: undefined,
        deviceName: "matrix-camera-call",
      },
      allowedUsers: ["@alice:example.org"],
      cameras: [
        {
          name: "cam1",
          url: "rtsp://10.0.0.2/stream",
          description: undefined,
          maxWidth: 1280,
          maxHeight: 720,
          maxFps: 25,
          audio: true,
          keepWarm: false,
          hwaccel: "none",
          ring: undefined,
          talkback: "off",
        },
      ],
      calls: { inviteLifetimeMs: 60_000, iceDisconnectedTimeoutMs: 30_000, maxPerUserPerMinute: 6, maxConcurrent: 8 },
      media: {
        ffmpegPath: undefined,
        idleStopMs: 10_000,
        encodeMegapixelsPerCore: 60,
        encodeBudgetFollowsSpeed: true,
        videoPacingFactor: 2.5,
      },
      http: {},
      triggers: { pressLimit: { burst: 4, perMinute: 4 } },
      matrixRtc: { ringVia: "legacy", ringViaUsers: {} },
      dataDir: path.resolve("/srv/mcc", "data"),
      logLevel: "info",
    });
  });

  it("keeps values that are given, and fills the rest of a partial section", () => {
    const given = {
      name: "door-1",
      url: "rtsp://d/x",
      description: "Front door",
      maxWidth: 640,
      maxHeight: 480,
      maxFps: 15,
      audio: false,
      keepWarm: true,
      hwaccel: "vaapi",
    } as const;
    const config = parse({
      ...minimal(),
      cameras: [given],
      calls: { inviteLifetimeMs: 30_000 },
      media: { ffmpegPath: "/usr/bin/ffmpeg" },
      dataDir: "/var/lib/mcc",
      logLevel: "debug",
    });
    expect(config.cameras[0]).toEqual({ ...given, ring: undefined, talkback: "off" });
    expect(config.calls).toEqual({ inviteLifetimeMs: 30_000, iceDisconnectedTimeoutMs: 30_000, maxPerUserPerMinute: 6, maxConcurrent: 8 });
    expect(config.media).toEqual({
      ffmpegPath: "/usr/bin/ffmpeg",
      idleStopMs: 10_000,
      encodeMegapixelsPerCore: 60,
      encodeBudgetFollowsSpeed: true,
      videoPacingFactor: 2.5,
    });
    expect(config.dataDir).toBe("/var/lib/mcc");
    expect(config.logLevel).toBe("debug");
  });

  it("an encode budget that is set is kept as given and does not follow the measured speed; unset it does", () => {
    for (const given of [30, 0]) {
      const media = parse({ ...minimal(), media: { encodeMegapixelsPerCore: given } }).media;
      expect(media.encodeMegapixelsPerCore).toBe(given);
      expect(media.encodeBudgetFollowsSpeed).toBe(false);
    }
    expect(parse({ ...minimal(), media: { idleStopMs: 5 } }).media).toMatchObject({
      encodeMegapixelsPerCore: 60,
      encodeBudgetFollowsSpeed: true,
    });
  });

  it("resolves a relative dataDir against baseDir", () => {
    expect(parse({ ...minimal(), dataDir: "state/x" }, {}, "/etc/mcc").dataDir).toBe("/etc/mcc/state/x");
  });

  it("strips trailing slashes from the homeserver URL", () => {
    expect(parse(homeserver({ url: "https://matrix.example.org///", accessToken: "t" })).homeserver.url).toBe("https://matrix.example.org");
  });

  it("accepts *:server entries and absolute file paths as camera URLs", () => {
    const config = parse({
      ...minimal(),
      allowedUsers: ["*:example.org", "@bob:other.org"],
      cameras: [{ name: "f", url: "/videos/loop.mp4" }],
    });
    expect(config.allowedUsers).toEqual(["*:example.org", "@bob:other.org"]);
    expect(config.cameras[0]?.url).toBe("/videos/loop.mp4");
  });

  it("accepts a user with a password instead of a token", () => {
    const config = parse(homeserver({ user: "@cam:example.org", password: "hunter2" }));
    expect(config.homeserver).toMatchObject({ accessToken: undefined, user: "@cam:example.org", password: "hunter2" });
  });
});

describe("parseConfig: every error names its key", () => {
  it("homeserver.url must be http(s)", () => {
    expect(problemsOf(homeserver({ url: "ftp://matrix.example.org", accessToken: "t" }))).toEqual([
      { key: "homeserver.url", message: "must be an http(s) URL such as https://matrix.example.org" },
    ]);
    expect(keysOf(homeserver({ url: "matrix.example.org", accessToken: "t" }))).toEqual(["homeserver.url"]);
  });

  it("a bad camera name names its index", () => {
    const keys = keysOf(cameras({ name: "cam1", url: "rtsp://a" }, { name: "Bad Name", url: "rtsp://b" }));
    expect(keys).toEqual(["cameras[1].name"]);
  });

  it.each([
    ["", "empty"],
    ["-cam", "leading dash"],
    ["a".repeat(33), "33 characters"],
    ["CAM", "upper case"],
    ["cam.1", "a dot"],
  ])("camera name %j is rejected (%s)", (name) => {
    expect(keysOf(cameras({ name, url: "rtsp://a" }))).toEqual(["cameras[0].name"]);
  });

  it.each([["a"], ["0"], ["a".repeat(32)], ["front_door-2"]])("camera name %j is accepted", (name) => {
    expect(parse(cameras({ name, url: "rtsp://a" })).cameras[0]?.name).toBe(name);
  });

  it("duplicate camera names", () => {
    expect(problemsOf(cameras({ name: "cam1", url: "rtsp://a" }, { name: "cam1", url: "rtsp://b" }))).toEqual([
      { key: "cameras", message: "camera names must be unique" },
    ]);
  });

  it("a camera needs exactly one of url and urlFile", () => {
    expect(problemsOf(cameras({ name: "c" }))).toEqual([{ key: "cameras[0].url", message: "give exactly one of url or urlFile" }]);
    expect(keysOf(cameras({ name: "c", url: "rtsp://a", urlFile: "x" }))).toEqual(["cameras[0].url"]);
  });

  it("a camera URL without a scheme", () => {
    expect(problemsOf(cameras({ name: "ok", url: "rtsp://a" }, { name: "c", url: "10.0.0.2:554/stream" }))).toEqual([
      { key: "cameras[1].url", message: "must be a URL such as rtsp://host:554/stream (or an absolute file path)" },
    ]);
    expect(keysOf(cameras({ name: "c", url: "relative/file.mp4" }))).toEqual(["cameras[0].url"]);
  });

  it("camera numbers out of range", () => {
    expect(keysOf(cameras({ name: "c", url: "rtsp://a", maxFps: 61, maxWidth: 15, maxHeight: 4321 }))).toEqual([
      "cameras[0].maxWidth",
      "cameras[0].maxHeight",
      "cameras[0].maxFps",
    ]);
    expect(keysOf(cameras({ name: "c", url: "rtsp://a", maxFps: 2.5 }))).toEqual(["cameras[0].maxFps"]);
  });

  it("no token and no user", () => {
    expect(problemsOf(homeserver({}))).toEqual([
      { key: "homeserver.accessToken", message: "give accessToken (or accessTokenFile, or MCC_ACCESS_TOKEN), or user with password" },
    ]);
  });

  it("a user without a password", () => {
    expect(problemsOf(homeserver({ user: "@cam:example.org" }))).toEqual([
      { key: "homeserver.password", message: "user needs password (or passwordFile, or MCC_PASSWORD)" },
    ]);
  });

  it("a user that is not a full user ID", () => {
    expect(keysOf(homeserver({ user: "cam", password: "p" }))).toEqual(["homeserver.user"]);
  });

  it("bad allowedUsers entries name their index", () => {
    expect(problemsOf({ ...minimal(), allowedUsers: ["bob"] })).toEqual([
      { key: "allowedUsers[0]", message: "must be @user:server or *:server" },
    ]);
    expect(keysOf({ ...minimal(), allowedUsers: ["@a:example.org", "@nohost", "*", "@a b:example.org"] })).toEqual([
      "allowedUsers[1]",
      "allowedUsers[2]",
      "allowedUsers[3]",
    ]);
  });

  it("empty lists", () => {
    expect(problemsOf({ ...minimal(), allowedUsers: [] })).toEqual([
      { key: "allowedUsers", message: "list at least one user (@alice:example.org) or server (*:example.org)" },
    ]);
    expect(problemsOf({ ...minimal(), cameras: [] })).toEqual([{ key: "cameras", message: "configure at least one camera" }]);
  });

  it("call and media limits", () => {
    expect(keysOf({ ...minimal(), calls: { inviteLifetimeMs: 4_999 } })).toEqual(["calls.inviteLifetimeMs"]);
    expect(keysOf({ ...minimal(), calls: { iceDisconnectedTimeoutMs: 120_001 } })).toEqual(["calls.iceDisconnectedTimeoutMs"]);
    expect(keysOf({ ...minimal(), media: { idleStopMs: -1 } })).toEqual(["media.idleStopMs"]);
  });

  it("a bad logLevel", () => {
    expect(keysOf({ ...minimal(), logLevel: "verbose" })).toEqual(["logLevel"]);
  });

  it("unknown keys are rejected at every level (strict)", () => {
    const problems = problemsOf({
      ...minimal(),
      extra: 1,
      homeserver: { url: "https://m.example.org", accessToken: "t", acessToken: "typo" },
      cameras: [{ name: "c", url: "rtsp://a", fps: 10 }],
      calls: { lifetime: 1 },
      media: { ffmpeg: "x" },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        { key: "(top level)", message: expect.stringContaining('"extra"') as unknown },
        { key: "homeserver", message: expect.stringContaining('"acessToken"') as unknown },
        { key: "cameras[0]", message: expect.stringContaining('"fps"') as unknown },
        { key: "calls", message: expect.stringContaining('"lifetime"') as unknown },
        { key: "media", message: expect.stringContaining('"ffmpeg"') as unknown },
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it("a missing or non-object configuration names the missing sections", () => {
    expect(keysOf(undefined)).toEqual(["homeserver", "allowedUsers", "cameras"]);
    expect(keysOf(null)).toEqual(["homeserver", "allowedUsers", "cameras"]);
    expect(keysOf("just a string")).toEqual(["(top level)"]);
  });

  it("reports every problem at once", () => {
    const keys = keysOf({ homeserver: { url: "nope" }, allowedUsers: ["x"], cameras: [{ name: "A", url: "rtsp://a" }] });
    expect(keys).toEqual(expect.arrayContaining(["homeserver.url", "allowedUsers[0]", "cameras[0].name"]));
  });
});

describe("ConfigError", () => {
  it("lists each problem on its own line under a header naming the file", () => {
    const err = configError(() => parseConfig({ ...minimal(), allowedUsers: ["x", "y"] }, { env: {}, file: "/etc/mcc/config.yaml" }));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("ConfigError");
    expect(err.file).toBe("/etc/mcc/config.yaml");
    expect(err.message).toBe(
      [
        "Invalid configuration in /etc/mcc/config.yaml:",
        "  - allowedUsers[0]: must be @user:server or *:server",
        "  - allowedUsers[1]: must be @user:server or *:server",
      ].join("\n"),
    );
  });

  it("names an inline configuration when no file is given", () => {
    expect(configError(() => parseConfig({}, { env: {} })).message).toMatch(/^Invalid configuration in \(inline configuration\):\n {2}- /);
  });

  it("can be built directly", () => {
    const err = new ConfigError([{ key: "a.b", message: "bad" }], "f.yaml");
    expect(err.message).toBe("Invalid configuration in f.yaml:\n  - a.b: bad");
    expect(err.problems).toEqual([{ key: "a.b", message: "bad" }]);
  });
});

describe("parseConfig: ${VAR} expansion", () => {
  it("replaces variables in strings anywhere in the tree", () => {
    const config = parse(
      {
        homeserver: { url: "https://${HS}", accessToken: "${TOKEN}" },
        allowedUsers: ["@${WHO}:example.org"],
        cameras: [{ name: "cam1", url: "rtsp://${CAM_USER}:${CAM_PASS}@10.0.0.2/x", maxFps: 10 }],
      },
      { HS: "matrix.example.org", TOKEN: "syt_abc", WHO: "alice", CAM_USER: "admin", CAM_PASS: "pw" },
    );
    expect(config.homeserver.url).toBe("https://matrix.example.org");
    expect(config.homeserver.accessToken).toBe("syt_abc");
    expect(config.allowedUsers).toEqual(["@alice:example.org"]);
    expect(config.cameras[0]?.url).toBe("rtsp://admin:pw@10.0.0.2/x");
    expect(config.cameras[0]?.maxFps).toBe(10);
  });

  it("leaves $VAR without braces and invalid names alone", () => {
    const config = parse(cameras({ name: "c", url: "rtsp://h/$PATH/${1X}" }), { PATH: "no" });
    expect(config.cameras[0]?.url).toBe("rtsp://h/$PATH/${1X}");
  });

  it("an unset variable is an error naming the key and the variable", () => {
    expect(problemsOf(cameras({ name: "c", url: "rtsp://a" }, { name: "d", url: "rtsp://${CAM_PASS}@h" }))).toEqual([
      { key: "cameras[1].url", message: "environment variable CAM_PASS is not set" },
    ]);
    expect(problemsOf({ ...minimal(), allowedUsers: ["${WHO}"] })).toEqual([
      { key: "allowedUsers[0]", message: "environment variable WHO is not set" },
    ]);
    expect(problemsOf(homeserver({ accessToken: "${T}" }))).toEqual([
      { key: "homeserver.accessToken", message: "environment variable T is not set" },
    ]);
  });

  it("reports every unset variable", () => {
    expect(problemsOf(homeserver({ accessToken: "${A}${B}" }))).toEqual([
      { key: "homeserver.accessToken", message: "environment variable A is not set" },
      { key: "homeserver.accessToken", message: "environment variable B is not set" },
    ]);
  });

  it("an empty variable counts as set (and then fails validation as empty)", () => {
    expect(keysOf(homeserver({ accessToken: "${T}" }), { T: "" })).toEqual(["homeserver.accessToken"]);
  });
});

describe("parseConfig: MCC_ACCESS_TOKEN and MCC_PASSWORD", () => {
  it("MCC_ACCESS_TOKEN supplies a missing token", () => {
    expect(parse(homeserver({}), { MCC_ACCESS_TOKEN: "from-env" }).homeserver.accessToken).toBe("from-env");
  });

  it("a token in the file wins over MCC_ACCESS_TOKEN", () => {
    expect(parse(homeserver({ accessToken: "from-file" }), { MCC_ACCESS_TOKEN: "from-env" }).homeserver.accessToken).toBe("from-file");
  });

  it("an empty MCC_ACCESS_TOKEN is no token", () => {
    expect(keysOf(homeserver({}), { MCC_ACCESS_TOKEN: "" })).toEqual(["homeserver.accessToken"]);
  });

  it("MCC_PASSWORD supplies a user's missing password", () => {
    const config = parse(homeserver({ user: "@cam:example.org" }), { MCC_PASSWORD: "pw-env" });
    expect(config.homeserver.password).toBe("pw-env");
    expect(config.homeserver.accessToken).toBeUndefined();
  });

  it("a password in the file wins over MCC_PASSWORD", () => {
    expect(parse(homeserver({ user: "@cam:example.org", password: "pw-file" }), { MCC_PASSWORD: "pw-env" }).homeserver.password).toBe(
      "pw-file",
    );
  });

  it("MCC_PASSWORD alone, without a user, is not enough", () => {
    expect(keysOf(homeserver({}), { MCC_PASSWORD: "pw" })).toEqual(["homeserver.accessToken"]);
  });
});

describe("secret and URL files, and loadConfigFile", () => {
  let dir: string;

  /** Writes `text` to `rel` inside the temp dir, creating folders. */
  function put(rel: string, text: string): string {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    return file;
  }

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mcc-config-"));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads accessTokenFile, passwordFile and urlFile relative to baseDir, trimmed", () => {
    put("a/secrets/token", "  syt_file_token\n");
    put("a/secrets/password", "file-password\n");
    put("a/cams/door.url", "rtsp://admin:pw@10.0.0.9/x\n");
    const config = parseConfig(
      {
        homeserver: {
          url: "https://m.example.org",
          accessTokenFile: "secrets/token",
          user: "@c:example.org",
          passwordFile: "secrets/password",
        },
        allowedUsers: ["@a:example.org"],
        cameras: [{ name: "door", urlFile: "cams/door.url" }],
      },
      { env: {}, baseDir: path.join(dir, "a") },
    );
    expect(config.homeserver.accessToken).toBe("syt_file_token");
    expect(config.homeserver.password).toBe("file-password");
    expect(config.cameras[0]?.url).toBe("rtsp://admin:pw@10.0.0.9/x");
  });

  it("loadConfigFile reads files relative to the config file, not the working directory", () => {
    put("b/conf/token", "syt_b\n");
    put("b/conf/cam.url", "rtsp://cam/b\n");
    const file = put(
      "b/conf/config.yaml",
      [
        "homeserver:",
        "  url: https://matrix.example.org/",
        "  accessTokenFile: token",
        "allowedUsers:",
        "  - '*:example.org'",
        "cameras:",
        "  - name: b",
        "    urlFile: ./cam.url",
        "dataDir: state",
        "",
      ].join("\n"),
    );
    expect(process.cwd()).not.toBe(path.join(dir, "b/conf"));
    const config = loadConfigFile(file, {});
    expect(config.homeserver.url).toBe("https://matrix.example.org");
    expect(config.homeserver.accessToken).toBe("syt_b");
    expect(config.cameras[0]?.url).toBe("rtsp://cam/b");
    expect(config.allowedUsers).toEqual(["*:example.org"]);
    expect(config.dataDir).toBe(path.join(dir, "b/conf/state"));
  });

  it("loadConfigFile expands ${VAR} from the env it is given", () => {
    const file = put(
      "c/config.yaml",
      "homeserver: {url: 'https://m.example.org', accessToken: '${TOKEN}'}\nallowedUsers: ['@a:example.org']\ncameras: [{name: c, url: 'rtsp://${HOST}/x'}]\n",
    );
    const config = loadConfigFile(file, { TOKEN: "syt_c", HOST: "10.1.1.1" });
    expect(config.homeserver.accessToken).toBe("syt_c");
    expect(config.cameras[0]?.url).toBe("rtsp://10.1.1.1/x");
    expect(configError(() => loadConfigFile(file, { TOKEN: "t" })).problems).toEqual([
      { key: "cameras[0].url", message: "environment variable HOST is not set" },
    ]);
  });

  it("loadConfigFile falls back to MCC_ACCESS_TOKEN", () => {
    const file = put(
      "d/config.yaml",
      "homeserver: {url: 'https://m.example.org'}\nallowedUsers: ['@a:example.org']\ncameras: [{name: c, url: 'rtsp://x'}]\n",
    );
    expect(loadConfigFile(file, { MCC_ACCESS_TOKEN: "env_tok" }).homeserver.accessToken).toBe("env_tok");
    expect(configError(() => loadConfigFile(file, {})).problems.map((p) => p.key)).toEqual(["homeserver.accessToken"]);
  });

  it("a missing secret file is an error naming the key and the file", () => {
    const err = configError(() =>
      parseConfig(
        { ...homeserver({ accessTokenFile: "nope/token" }), cameras: [{ name: "c", urlFile: "nope/url" }] },
        { env: {}, baseDir: dir, file: "x.yaml" },
      ),
    );
    expect(err.problems).toEqual([
      { key: "homeserver.accessTokenFile", message: "cannot read file nope/token (ENOENT)" },
      { key: "cameras[0].urlFile", message: "cannot read file nope/url (ENOENT)" },
    ]);
  });

  // root reads any file regardless of its mode, so the permission case only runs as another user.
  it.skipIf(process.getuid?.() === 0)("a secret file without read permission is an error with EACCES", () => {
    const file = put("e/password", "pw");
    chmodSync(file, 0o000);
    try {
      const err = configError(() =>
        parseConfig(homeserver({ user: "@c:example.org", passwordFile: "e/password" }), { env: {}, baseDir: dir }),
      );
      expect(err.problems).toEqual([{ key: "homeserver.passwordFile", message: "cannot read file e/password (EACCES)" }]);
    } finally {
      chmodSync(file, 0o600);
    }
  });

  it("a secret file that cannot be read (a directory) is an error with its code", () => {
    mkdirSync(path.join(dir, "e/adir"), { recursive: true });
    const err = configError(() => parseConfig(homeserver({ user: "@c:example.org", passwordFile: "e/adir" }), { env: {}, baseDir: dir }));
    expect(err.problems).toEqual([{ key: "homeserver.passwordFile", message: "cannot read file e/adir (EISDIR)" }]);
  });

  it("an empty secret file is an error", () => {
    put("f/token", "  \n");
    const err = configError(() => parseConfig(homeserver({ accessTokenFile: "f/token" }), { env: {}, baseDir: dir }));
    expect(err.problems).toEqual([{ key: "homeserver.accessTokenFile", message: "file f/token is empty" }]);
  });

  it("a URL file whose content is not a URL is an error on the camera's url", () => {
    put("g/cam.url", "not a url\n");
    const err = configError(() => parseConfig(cameras({ name: "g", urlFile: "g/cam.url" }), { env: {}, baseDir: dir }));
    expect(err.problems).toEqual([
      { key: "cameras[0].url", message: "must be a URL such as rtsp://host:554/stream (or an absolute file path)" },
    ]);
  });

  it("an absolute secret file path is used as it is", () => {
    const file = put("h/token", "abs_token");
    expect(parseConfig(homeserver({ accessTokenFile: file }), { env: {}, baseDir: "/nonexistent" }).homeserver.accessToken).toBe(
      "abs_token",
    );
  });

  it("a missing config file", () => {
    const file = path.join(dir, "missing.yaml");
    const err = configError(() => loadConfigFile(file, {}));
    expect(err.file).toBe(file);
    expect(err.problems).toEqual([{ key: "(file)", message: `cannot read ${file} (ENOENT)` }]);
    expect(err.message).toBe(`Invalid configuration in ${file}:\n  - (file): cannot read ${file} (ENOENT)`);
  });

  it("invalid YAML", () => {
    const file = put("i/config.yaml", "homeserver:\n  url: https://m.example.org\n   bad: [\n");
    const err = configError(() => loadConfigFile(file, {}));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.key).toBe("(yaml)");
    expect(err.problems[0]?.message).toMatch(/^not valid YAML at line \d+, column \d+/);
  });

  it("a YAML error does not quote the file's lines, which may hold secrets", () => {
    const file = put(
      "i2/config.yaml",
      "homeserver:\n  accessToken: s3cretTOKEN\n  accessToken: s3cretTOKEN\ncameras:\n  - url: rtsp://admin:s3cret@h/x\n   bad: [\n",
    );
    const err = configError(() => loadConfigFile(file, {}));
    expect(err.message).not.toContain("s3cret");
    expect(err.problems[0]?.message).toMatch(/^not valid YAML at line \d+/);
  });

  it("an empty YAML file is a configuration with every section missing", () => {
    const file = put("j/config.yaml", "");
    expect(configError(() => loadConfigFile(file, {})).problems.map((p) => p.key)).toEqual(["homeserver", "allowedUsers", "cameras"]);
  });

  it("schema errors from a file carry the file name", () => {
    const file = put(
      "k/config.yaml",
      "homeserver: {url: 'https://m.example.org', accessToken: t}\nallowedUsers: [bob]\ncameras: [{name: c, url: 'rtsp://x'}]\n",
    );
    const err = configError(() => loadConfigFile(file, {}));
    expect(err.message).toBe(`Invalid configuration in ${file}:\n  - allowedUsers[0]: must be @user:server or *:server`);
  });
});

describe("ConfigError messages never carry secret values", () => {
  const SECRET = "S3cr3tValue";

  it.each<[string, Obj]>([
    ["a non-http homeserver URL with a password in it", homeserver({ url: `ftp://bot:${SECRET}@matrix.example.org`, accessToken: "t" })],
    ["a homeserver URL that is only a secret", homeserver({ url: SECRET, accessToken: "t" })],
    ["a camera URL without a scheme", cameras({ name: "c", url: `${SECRET} rtsp` })],
    ["a token of the wrong type next to a bad key", homeserver({ accessToken: 12345, acessToken: SECRET })],
    ["a password without a user", { ...homeserver({ password: SECRET }) }],
    ["a password of the wrong type", homeserver({ user: "@c:example.org", password: [SECRET] })],
    ["a bad camera name", cameras({ name: SECRET, url: "rtsp://a" })],
    ["a bad logLevel", { ...minimal(), logLevel: SECRET }],
    ["a bad allowedUsers entry", { ...minimal(), allowedUsers: [SECRET] }],
    ["an unset variable in a URL holding a password", cameras({ name: "c", url: `rtsp://admin:${SECRET}\${MISSING}@h/x` })],
  ])("%s", (_label, obj) => {
    const err = configError(() => parse(obj));
    expect(err.problems.length).toBeGreaterThan(0);
    expect(err.message).not.toContain(SECRET);
    expect(err.message).not.toContain(SECRET.toLowerCase());
  });

  it("a secret file's content is not echoed when it is not a URL", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcc-config-secret-"));
    try {
      writeFileSync(path.join(dir, "cam.url"), `${SECRET} admin\n`);
      const err = configError(() => parseConfig(cameras({ name: "c", urlFile: "cam.url" }), { env: {}, baseDir: dir }));
      expect(err.problems.map((p) => p.key)).toEqual(["cameras[0].url"]);
      expect(err.message).not.toContain(SECRET);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
