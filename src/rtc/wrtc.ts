/** The one place @roamhq/wrtc is loaded (a CommonJS native addon). */
import { createRequire } from "node:module";
import type * as Wrtc from "@roamhq/wrtc";

const load = createRequire(import.meta.url);
export const wrtc = load("@roamhq/wrtc") as typeof Wrtc;
export const { RTCPeerConnection, MediaStream, nonstandard } = wrtc;
export type RTCVideoSource = Wrtc.nonstandard.RTCVideoSource;
export type RTCAudioSource = Wrtc.nonstandard.RTCAudioSource;
