/**
 * The one place @livekit/rtc-node is loaded. It is an optional dependency with a native part that exists only for
 * glibc x64/arm64, macOS and Windows: on musl or 32-bit ARM it is missing or fails to load, and the bot must still
 * run its legacy calls. So it is imported dynamically, once, and a failure becomes a reason to report
 * ("MatrixRTC unavailable: <reason>"), never a crash at startup.
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import path from "node:path";
import { errorMessage, type Logger } from "../util/logger.ts";

export type RtcNode = typeof import("@livekit/rtc-node");

export type RtcNodeLoad = { ok: true; rtc: RtcNode } | { ok: false; reason: string };

let loading: Promise<RtcNodeLoad> | undefined;

/** Loads @livekit/rtc-node (cached). `importer` is for tests that simulate a platform without it. */
export function loadRtcNode(importer: () => Promise<RtcNode> = () => import("@livekit/rtc-node")): Promise<RtcNodeLoad> {
  loading ??= importer().then(
    (rtc): RtcNodeLoad => {
      routeRtcNodeLogs();
      return { ok: true, rtc };
    },
    (err: unknown): RtcNodeLoad => ({ ok: false, reason: unavailableReason(err) }),
  );
  return loading;
}

/** Forgets the cached result (tests only). */
export function resetRtcNodeForTests(): void {
  loading = undefined;
}

/** One line a user can act on, from what the import threw. */
export function unavailableReason(err: unknown): string {
  const message = errorMessage(err).split("\n")[0] ?? "";
  if (/Cannot find (package|module) '@livekit\/rtc-node'/.test(message)) {
    return "@livekit/rtc-node is not installed (it is optional: npm skips it where it has no build)";
  }
  if (/rtc-ffi-bindings/.test(message)) {
    return `@livekit/rtc-node has no native build for ${process.platform}-${process.arch} here (it ships glibc x64/arm64, macOS, Windows): ${message}`;
  }
  return `@livekit/rtc-node failed to load: ${message}`;
}

/** "MatrixRTC unavailable: <reason>", the line the bot logs and tells users. */
export function unavailableMessage(reason: string): string {
  return `MatrixRTC unavailable: ${reason}`;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
type Level = (typeof LEVELS)[number];
type LogMethod = (...args: unknown[]) => void;
let logTarget: Logger | undefined;

/** Where rtc-node's own log lines go from now on: the bot's logger (component lk-rtc), so its level applies. */
export function setRtcNodeLogger(log: Logger): void {
  logTarget = log.child({ component: "lk-rtc" });
}

/**
 * rtc-node logs with its own pino instance (name lk-rtc) straight to stdout, at debug unless NODE_ENV is
 * "production" (dist/log.cjs), and neither exports it nor reads another setting: every connect wrote
 * "Connect callback received" beside the bot's own lines. Its module is loaded by now (the package's ESM entry
 * re-exports the CommonJS build), so requiring it by file gives the same instance, whose level methods are replaced:
 * forwarded to the bot's logger when one is set, else only warnings and errors kept. Its Rust side's logs are
 * delivered to JavaScript as FFI events that rtc-node 1.1 drops, so nothing else writes to stdout.
 */
function routeRtcNodeLogs(): void {
  try {
    const require = createRequire(import.meta.url);
    const file = path.join(path.dirname(require.resolve("@livekit/rtc-node")), "log.cjs");
    const mod: unknown = require(file);
    if (typeof mod !== "object" || mod === null || !("log" in mod)) return;
    const lk = mod.log as Partial<Record<Level, LogMethod>>;
    for (const level of LEVELS) {
      const original = lk[level];
      if (typeof original !== "function") continue;
      const own = original.bind(lk);
      const keep = level === "warn" || level === "error" || level === "fatal";
      lk[level] = (...args: unknown[]) => {
        // Called on the logger (pino's methods read `this`), with rtc-node's arguments as they are.
        if (logTarget !== undefined) Reflect.apply(logTarget[level], logTarget, args);
        else if (keep) own(...args);
      };
    }
  } catch {
    // Another rtc-node layout: its debug lines stay; nothing else depends on this.
  }
}

/**
 * Lets rtc-node forget a Room the bot is done with. rtc-node 1.1 adds each Room's handler to its one FFI event source
 * (kept on globalThis) and removes it only on a failed connect or in disconnect(), which returns at once when the room
 * already counts as disconnected: a Room that LiveKit disconnected (removed, or reconnecting given up) stayed in memory
 * for good, its handler called for every FFI event of the process (e2e livekit-publish: still held after the end
 * without this). Removing a handler twice is harmless; another rtc-node layout is left as it is.
 */
export function releaseRoom(room: object): void {
  const events: unknown = (globalThis as { _ffiClientInstance?: unknown })._ffiClientInstance;
  const handler: unknown = (room as { onFfiEvent?: unknown }).onFfiEvent;
  if (events instanceof EventEmitter && typeof handler === "function") events.off("ffi_event", handler as (...args: unknown[]) => void);
}
