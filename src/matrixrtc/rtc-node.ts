/**
 * The one place @livekit/rtc-node is loaded. It is an optional dependency with a native part that exists only for
 * glibc x64/arm64, macOS and Windows: on musl or 32-bit ARM it is missing or fails to load, and the bot must still
 * run its legacy calls. So it is imported dynamically, once, and a failure becomes a reason to report
 * ("MatrixRTC unavailable: <reason>"), never a crash at startup.
 */
import { errorMessage } from "../util/logger.ts";

export type RtcNode = typeof import("@livekit/rtc-node");

export type RtcNodeLoad = { ok: true; rtc: RtcNode } | { ok: false; reason: string };

let loading: Promise<RtcNodeLoad> | undefined;

/** Loads @livekit/rtc-node (cached). `importer` is for tests that simulate a platform without it. */
export function loadRtcNode(importer: () => Promise<RtcNode> = () => import("@livekit/rtc-node")): Promise<RtcNodeLoad> {
  loading ??= importer().then(
    (rtc): RtcNodeLoad => ({ ok: true, rtc }),
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
