/**
 * Docker packaging cannot be built here (no Docker daemon), so this checks the Dockerfile, docker-compose.yml
 * and .dockerignore for structure and for agreement with the repository.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (rel: string): string => readFileSync(join(ROOT, rel), "utf8");

interface Instruction {
  /** Upper-cased instruction keyword, e.g. "RUN". */
  keyword: string;
  /** Everything after the keyword, continuation lines joined with a space. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

/** Splits a Dockerfile into instructions: `\` continuations joined, comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines (also inside a continuation, where Docker drops them too) and blank lines.
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const continues = trimmed.endsWith("\\");
    const body = continues ? trimmed.slice(0, -1).trim() : trimmed;
    if (pending) pending.parts.push(body);
    else pending = { parts: [body], line: index + 1 };
    if (continues) return;
    const joined = pending.parts.filter((p) => p !== "").join(" ");
    const match = /^(\S+)\s*(.*)$/s.exec(joined);
    if (match?.[1] !== undefined) out.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "", line: pending.line });
    pending = undefined;
  });
  if (pending) throw new Error(`Dockerfile ends inside a continuation started on line ${pending.line}`);
  return out;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m?.[1]) throw new Error(`cannot parse FROM on line ${ins.line}`);
      stages.push({ from: m[1], name: m[2], instructions: [] });
    } else {
      const current = stages.at(-1);
      if (!current) throw new Error(`${ins.keyword} before FROM on line ${ins.line}`);
      current.instructions.push(ins);
    }
  }
  return stages;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  dest: string;
}

/** COPY/ADD arguments: flags (--from=, --chown=, …), then sources and a destination, shell or JSON form. */
function parseCopy(args: string): Copy {
  const words = args.startsWith("[") ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  let from: string | undefined;
  const rest: string[] = [];
  for (const w of words) {
    if (rest.length === 0 && w.startsWith("--")) {
      const m = /^--from=(.+)$/.exec(w);
      if (m) from = m[1];
    } else rest.push(w);
  }
  const dest = rest.pop();
  if (dest === undefined || rest.length === 0) throw new Error(`COPY needs sources and a destination: ${args}`);
  return { from, sources: rest, dest };
}

/** Repository paths a COPY source names (supports * and ? in the last path segment). */
function matchSource(source: string): string[] {
  const rel = source.replace(/^\.\//, "").replace(/\/$/, "");
  if (!/[*?]/.test(rel)) return existsSync(join(ROOT, rel)) ? [rel] : [];
  const dir = dirname(rel);
  const pattern = new RegExp(
    "^" +
      rel
        .slice(dir === "." ? 0 : dir.length + 1)
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]") +
      "$",
  );
  const base = join(ROOT, dir);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((name) => pattern.test(name))
    .map((name) => (dir === "." ? name : `${dir}/${name}`));
}

function runLines(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
}

describe("parseDockerfile", () => {
  it("joins continuations, drops comments, keeps the first line number", () => {
    const parsed = parseDockerfile('# syntax=docker/dockerfile:1\nFROM a AS b\n\nRUN one \\\n  # inside\n  two \\\n  three\ncmd ["x"]\n');
    expect(parsed).toEqual([
      { keyword: "FROM", args: "a AS b", line: 2 },
      { keyword: "RUN", args: "one two three", line: 4 },
      { keyword: "CMD", args: '["x"]', line: 8 },
    ]);
  });

  it("rejects a file that ends inside a continuation", () => {
    expect(() => parseDockerfile("FROM a\nRUN x \\\n")).toThrow(/continuation/);
  });
});

describe("Dockerfile", () => {
  const instructions = parseDockerfile(read("Dockerfile"));
  const stages = stagesOf(instructions);
  const build = stages[0];
  const final = stages.at(-1);
  if (!build || !final) throw new Error("Dockerfile has no stages");

  it("is a two-stage build on node:24-bookworm-slim (Node 24 LTS, the version the tests run on)", () => {
    expect(stages.map((s) => s.from)).toEqual(["node:24-bookworm-slim", "node:24-bookworm-slim"]);
    expect(build.name).toBe("build");
    expect(final).not.toBe(build);
  });

  it("installs all dependencies and compiles in the build stage", () => {
    const runs = runLines(build);
    expect(runs).toContain("npm ci");
    expect(runs).toContain("npm run build");
    const pkg = JSON.parse(read("package.json")) as { scripts: Record<string, string>; main: string };
    expect(pkg.scripts["build"]).toBeDefined();
  });

  it("installs ffmpeg and only production dependencies in the final stage", () => {
    const runs = runLines(final).join("\n");
    expect(runs).toMatch(/apt-get update/);
    expect(runs).toMatch(/apt-get install -y --no-install-recommends [^\n]*\bffmpeg\b/);
    expect(runs).toMatch(/\bca-certificates\b/);
    expect(runs).toMatch(/npm ci --omit=dev/);
    expect(runs).not.toMatch(/npm run build/);
  });

  it("installs the GStreamer front end (the default for RTSP cameras): gst-launch-1.0 with the base, good and libav plugins", () => {
    const install = runLines(final).find((l) => l.includes("apt-get install")) ?? "";
    for (const pkg of ["gstreamer1.0-tools", "gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good", "gstreamer1.0-libav"]) {
      expect(install.split(/\s+/), pkg).toContain(pkg);
    }
  });

  it("runs Debian's ffmpeg: ffmpeg-static is removed from the final stage, wrtc's optional binary kept", () => {
    const runs = runLines(final).join("\n");
    expect(runs).toMatch(/npm ci --omit=dev[^\n]*&& rm -rf node_modules\/ffmpeg-static/);
    expect(runs).not.toMatch(/--omit=optional/);
  });

  it("builds the lean ffmpeg in the build stage and copies only its binary to where the bot looks for it", () => {
    expect(runLines(build).join("\n")).toMatch(/apt-get install -y --no-install-recommends [^\n]*\bnasm\b/);
    expect(runLines(build)).toContain('test -n "$(bash scripts/lean-ffmpeg.sh)"');
    const copied = final.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args));
    // LEAN_FFMPEG_BUILT, from /app/dist/media: /app/native/ffmpeg-lean/ffmpeg.
    expect(copied).toContainEqual({ from: "build", sources: ["/app/native/ffmpeg-lean/ffmpeg"], dest: "./native/ffmpeg-lean/" });
  });

  it("builds the launcher's preload (native/zero-pages.c) in the build stage and preloads only it in the final stage", () => {
    expect(runLines(build).join("\n")).toMatch(/apt-get install -y --no-install-recommends gcc libc6-dev/);
    expect(runLines(build)).toContain('test -n "$(sh scripts/zero-pages.sh)"');
    const copied = final.instructions.filter((i) => i.keyword === "COPY").map((i) => parseCopy(i.args));
    expect(copied).toContainEqual({ from: "build", sources: ["/app/native/zero-pages.so"], dest: "./native/" });
    expect(final.instructions.filter((i) => i.keyword === "ENV").map((i) => i.args)).toContain("LD_PRELOAD=/app/native/zero-pages.so");
    // The launcher preloads the same build (scripts/zero-pages.sh) unless MCC_ZERO_PAGES=0.
    expect(read("bin/matrix-camera-call")).toMatch(/preload=\$\(sh scripts\/zero-pages\.sh/);
  });

  it("checks its health on /healthz in the final stage", () => {
    const health = final.instructions.filter((i) => i.keyword === "HEALTHCHECK");
    expect(health).toHaveLength(1);
    expect(health[0]?.args).toMatch(/CMD .*127\.0\.0\.1:8080\/healthz/);
  });

  it("runs as a non-root user in the final stage", () => {
    const users = final.instructions.filter((i) => i.keyword === "USER").map((i) => i.args.split(":")[0]);
    const last = users.at(-1);
    expect(last).toBeDefined();
    expect(["root", "0"]).not.toContain(last);
  });

  it("sets WORKDIR /app, VOLUME /data, MCC_CONFIG and EXPOSE 8080 in the final stage", () => {
    const args = (kw: string): string[] => final.instructions.filter((i) => i.keyword === kw).map((i) => i.args);
    expect(args("WORKDIR")).toContain("/app");
    expect(args("VOLUME")).toContain("/data");
    expect(args("EXPOSE")).toContain("8080");
    expect(args("ENV").join(" ")).toMatch(/(^|\s)MCC_CONFIG=\/config\/config\.yaml(\s|$)/);
  });

  it("starts dist/main.js, which the build emits from src/", () => {
    const cmds = final.instructions.filter((i) => i.keyword === "CMD");
    expect(cmds).toHaveLength(1);
    expect(JSON.parse(cmds[0]?.args ?? "null")).toEqual(["node", "dist/main.js"]);
    const pkg = JSON.parse(read("package.json")) as { main: string };
    expect(pkg.main).toBe("dist/main.js");
    const tsBuild = JSON.parse(read("tsconfig.build.json")) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(tsBuild.compilerOptions).toMatchObject({ outDir: "dist", rootDir: "src" });
    const copiedDist = final.instructions
      .filter((i) => i.keyword === "COPY")
      .map((i) => parseCopy(i.args))
      .find((c) => c.from === build.name);
    expect(copiedDist).toEqual({ from: "build", sources: ["/app/dist"], dest: "./dist" });
  });

  // The bot's entry point is written separately; until it exists there is nothing to point at.
  it.skipIf(!existsSync(join(ROOT, "src", "main.ts")))("has the source of the entry point (src/main.ts)", () => {
    expect(existsSync(join(ROOT, "src", "main.ts"))).toBe(true);
  });

  it("copies only files that exist in the repository and are not excluded by .dockerignore", () => {
    const ignored = read(".dockerignore")
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    const contextCopies = instructions
      .filter((i) => i.keyword === "COPY" || i.keyword === "ADD")
      .map((i) => parseCopy(i.args))
      .filter((c) => c.from === undefined);
    const sources = contextCopies.flatMap((c) => c.sources);
    expect(sources).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "src"]));
    expect(sources.some((s) => s.startsWith("tsconfig"))).toBe(true);
    for (const source of sources) {
      const matches = matchSource(source);
      expect(matches, `COPY source ${source}`).not.toEqual([]);
      for (const m of matches) expect(ignored, `${m} is COPY'd but .dockerignore'd`).not.toContain(m.split("/")[0]);
    }
  });
});

describe(".dockerignore", () => {
  it("keeps dependencies, build output, state and git out of the build context", () => {
    const lines = read(".dockerignore")
      .split(/\r?\n/)
      .map((l) => l.trim());
    for (const entry of ["node_modules", "dist", "data", ".git", "*.log"]) expect(lines).toContain(entry);
  });
});

describe("docker-compose.yml", () => {
  interface BindMount {
    type: string;
    source: string;
    target: string;
    read_only?: boolean;
  }
  interface Service {
    build?: string | { context: string };
    image?: string;
    restart?: string;
    profiles?: string[];
    volumes?: (string | BindMount)[];
    env_file?: string | (string | { path: string; required?: boolean })[];
  }
  const compose = parseYaml(read("docker-compose.yml")) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
  const bot = compose.services["bot"];

  it("builds the bot from this directory and restarts it unless stopped", () => {
    expect(bot).toBeDefined();
    const context = typeof bot?.build === "string" ? bot.build : bot?.build?.context;
    expect(context).toBe(".");
    expect(bot?.restart).toBe("unless-stopped");
    expect(bot?.profiles).toBeUndefined();
  });

  it("mounts ./config/config.yaml read-only at the path MCC_CONFIG names", () => {
    const mounts = (bot?.volumes ?? []).map((v): BindMount => {
      if (typeof v !== "string") return v;
      const [source = "", target = "", mode = ""] = v.split(":");
      return {
        type: source.startsWith(".") || source.startsWith("/") ? "bind" : "volume",
        source,
        target,
        read_only: mode.split(",").includes("ro"),
      };
    });
    const config = mounts.find((m) => m.target === "/config/config.yaml");
    expect(config).toMatchObject({ type: "bind", source: "./config/config.yaml", read_only: true });
    expect(read("Dockerfile")).toContain("MCC_CONFIG=/config/config.yaml");

    const data = mounts.find((m) => m.target === "/data");
    expect(data?.type).toBe("volume");
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.source);
  });

  it("reads .env only if it exists", () => {
    const files = typeof bot?.env_file === "string" ? [bot.env_file] : (bot?.env_file ?? []);
    expect(files).toContainEqual({ path: ".env", required: false });
  });

  it("puts synapse and coturn behind the local-stack profile", () => {
    expect(compose.services["synapse"]).toMatchObject({ image: "matrixdotorg/synapse", profiles: ["local-stack"] });
    expect(compose.services["coturn"]).toMatchObject({ image: "coturn/coturn", profiles: ["local-stack"] });
    expect(compose.services["wellknown"]).toMatchObject({ profiles: ["local-stack"] });
    expect(compose.services["livekit"]).toMatchObject({ image: "livekit/livekit-server:v1.13.5", profiles: ["local-stack"] });
    expect(compose.services["lk-jwt"]).toMatchObject({ image: "ghcr.io/element-hq/lk-jwt-service:latest", profiles: ["local-stack"] });
    expect(Object.keys(compose.services).sort()).toEqual(["bot", "coturn", "livekit", "lk-jwt", "synapse", "wellknown"]);
  });

  it("runs coturn with a required secret and no relay into private, loopback or link-local networks", () => {
    const args = (compose.services["coturn"] as { command: string[] }).command;
    expect(args).toContainEqual(expect.stringMatching(/^--static-auth-secret=\$\{TURN_SECRET:\?/));
    expect(args).toContain("--no-multicast-peers");
    const denied = args.filter((a) => a.startsWith("--denied-peer-ip=")).map((a) => a.slice("--denied-peer-ip=".length));
    for (const range of [
      "10.0.0.0-10.255.255.255",
      "172.16.0.0-172.31.255.255",
      "192.168.0.0-192.168.255.255",
      "127.0.0.0-127.255.255.255",
      "169.254.0.0-169.254.255.255",
      "::1",
    ]) {
      expect(denied).toContain(range);
    }
  });

  it("serves the .well-known file and nginx config it mounts, which exist and are valid", () => {
    const volumes = (compose.services["wellknown"] as { volumes: string[] }).volumes;
    for (const v of volumes) expect(existsSync(join(ROOT, v.split(":")[0] ?? ""))).toBe(true);
    const wk = JSON.parse(read("docker/well-known/matrix/client")) as Record<string, unknown>;
    expect(wk["m.homeserver"]).toBeDefined();
    expect(wk).toHaveProperty("org.matrix.msc4143.rtc_foci");
  });

  it("takes every ${VARIABLE} it uses from .env.example", () => {
    const used = new Set([...read("docker-compose.yml").matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]));
    const documented = read(".env.example");
    for (const name of used) expect(documented, `${String(name)} in .env.example`).toMatch(new RegExp(`^${String(name)}=`, "m"));
  });

  describe("the MatrixRTC focus of the local stack (LiveKit + lk-jwt-service)", () => {
    interface RtcService {
      environment: Record<string, string>;
      ports: string[];
      networks: { default: { aliases: string[] } };
      volumes: string[];
      command: string[];
    }
    const rtcCompose = parseYaml(read("docker-compose.yml")) as { services: Record<string, RtcService> };
    const service = (name: string): RtcService => {
      const svc = rtcCompose.services[name];
      if (!svc) throw new Error(`no service ${name}`);
      return svc;
    };
    const livekit = service("livekit");
    const jwt = service("lk-jwt");
    const lkConfig = parseYaml(read("docker/livekit.yaml")) as {
      port: number;
      keys: Record<string, string>;
      rtc: { tcp_port: number; udp_port: number };
    };
    /** "127.0.0.1:HOST:CONTAINER[/proto]" → its parts. */
    const published = (p: string): { ip: string; host: number; container: number; proto: string } => {
      const m = /^([^:]+):(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(p);
      if (!m) throw new Error(`not ip:host:container: ${p}`);
      return { ip: m[1] ?? "", host: Number(m[2]), container: Number(m[3]), proto: m[4] ?? "tcp" };
    };
    /** The focus URLs the homeserver offers (Synapse's additions: MSC4143 transports and its client well-known). */
    const synapseFoci = (): string[] => {
      const add = parseYaml(read("docker/synapse/homeserver-additions.yaml")) as {
        matrix_rtc: { transports: { livekit_service_url: string }[] };
        extra_well_known_client_content: Record<string, { livekit_service_url: string }[]>;
      };
      return [
        ...add.matrix_rtc.transports.map((t) => t.livekit_service_url),
        ...(add.extra_well_known_client_content["org.matrix.msc4143.rtc_foci"] ?? []).map((t) => t.livekit_service_url),
      ];
    };

    it("publishes every port of every service on the host's loopback only", () => {
      for (const [name, svc] of Object.entries(compose.services)) {
        for (const p of (svc as { ports?: string[] }).ports ?? []) expect(published(p).ip, `${name}: ${p}`).toBe("127.0.0.1");
      }
      expect(livekit.ports.map(published)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ container: lkConfig.port, proto: "tcp" }),
          expect.objectContaining({ container: lkConfig.rtc.tcp_port, proto: "tcp" }),
          expect.objectContaining({ container: lkConfig.rtc.udp_port, proto: "udp" }),
        ]),
      );
    });

    it("gives LiveKit the key pair the token service signs with (a secret LiveKit accepts: ≥ 32 characters)", () => {
      expect(livekit.volumes).toContain("./docker/livekit.yaml:/etc/livekit.yaml:ro");
      expect(livekit.command).toEqual(["--config", "/etc/livekit.yaml"]);
      const key = jwt.environment["LIVEKIT_KEY"] ?? "";
      expect(Object.keys(lkConfig.keys)).toEqual([key]);
      expect(lkConfig.keys[key]).toBe(jwt.environment["LIVEKIT_SECRET"]);
      expect(jwt.environment["LIVEKIT_SECRET"]?.length).toBeGreaterThanOrEqual(32);
    });

    it("hands out a LiveKit URL that is LiveKit's alias and port, the same inside the network and on the host", () => {
      const url = new URL(jwt.environment["LIVEKIT_URL"] ?? "");
      expect(url.protocol).toBe("ws:");
      expect(livekit.networks.default.aliases).toContain(url.hostname);
      expect(url.hostname).toMatch(/\.localhost$/);
      const signalling = livekit.ports.map(published).find((p) => p.container === lkConfig.port);
      expect(signalling).toMatchObject({ host: Number(url.port), container: Number(url.port) });
    });

    it("lets the homeserver's users create rooms, from the server name compose gives Synapse", () => {
      expect(jwt.environment["LIVEKIT_FULL_ACCESS_HOMESERVERS"]).toBe("${SYNAPSE_SERVER_NAME:-localhost}");
    });

    it("names one focus URL everywhere: the well-known file, Synapse's transports and well-known, the token service's alias and port", () => {
      const wk = JSON.parse(read("docker/well-known/matrix/client")) as Record<string, { type: string; livekit_service_url: string }[]>;
      const foci = wk["org.matrix.msc4143.rtc_foci"] ?? [];
      expect(foci).toHaveLength(1);
      expect(foci[0]?.type).toBe("livekit");
      const focus = foci[0]?.livekit_service_url ?? "";
      expect(synapseFoci()).toEqual([focus, focus]);
      const url = new URL(focus);
      expect(url.protocol).toBe("http:");
      expect(jwt.networks.default.aliases).toContain(url.hostname);
      const bind = /^:(\d+)$/.exec(jwt.environment["LIVEKIT_JWT_BIND"] ?? "");
      expect(bind?.[1]).toBe(url.port);
      expect(jwt.ports.map(published)).toEqual([{ ip: "127.0.0.1", host: Number(url.port), container: Number(url.port), proto: "tcp" }]);
    });
  });
});
