/** The one place @roamhq/wrtc is loaded (a CommonJS native addon). */
import { createRequire } from "node:module";
import type * as Wrtc from "@roamhq/wrtc";

const load = createRequire(import.meta.url);
export const wrtc = load("@roamhq/wrtc") as typeof Wrtc;
export const { RTCPeerConnection, MediaStream, nonstandard } = wrtc;
export type RTCVideoSource = Wrtc.nonstandard.RTCVideoSource;
export type RTCAudioSource = Wrtc.nonstandard.RTCAudioSource;

let openPeerConnections = 0;

/** Creates a peer connection that is counted until it is closed (leak checks, metrics). */
export function createPeerConnection(config: RTCConfiguration): RTCPeerConnection {
  const pc = new RTCPeerConnection(config);
  openPeerConnections++;
  let counted = true;
  const close = pc.close.bind(pc);
  pc.close = () => {
    if (counted) {
      counted = false;
      openPeerConnections--;
    }
    close();
  };
  return pc;
}

export function openPeerConnectionCount(): number {
  return openPeerConnections;
}
