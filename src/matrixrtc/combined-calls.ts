/**
 * The legacy calls and the MatrixRTC calls seen as one: admission counts both (one room, one call; one
 * calls.maxConcurrent), and the encode budget's speed watch reads every call's encoder.
 */
import type { CallRegistry } from "../admission/refusal.ts";
import { callFigures } from "../call/call-figures.ts";
import type { ActiveCall } from "../call/router.ts";
import type { CallEncodeFigures } from "../media/encode-speed-watch.ts";
import type { RtcCalls } from "./rtc-calls.ts";

/** Admission's view of the calls in progress: the legacy calls and the MatrixRTC calls together. */
export function combinedRegistry(legacy: CallRegistry & { activeCount(): number }, rtc: RtcCalls): CallRegistry {
  return {
    callInRoom: (roomId) => legacy.callInRoom(roomId) ?? rtc.callInRoom(roomId),
    atCapacity: () => legacy.atCapacity() || legacy.activeCount() + rtc.count >= (legacy.maxConcurrent ?? Infinity),
    get maxConcurrent() {
      return legacy.maxConcurrent;
    },
  };
}

/** The encode budget's view of the calls in progress: every legacy and MatrixRTC call's encoder figures. */
export async function combinedEncodeFigures(legacy: { sessions(): ActiveCall[] }, rtc: RtcCalls): Promise<CallEncodeFigures[]> {
  const [own, theirs] = await Promise.all([callFigures(legacy.sessions()), rtc.encodeFigures()]);
  return [...own, ...theirs];
}
