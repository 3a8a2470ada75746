/** The one place @roamhq/wrtc is loaded (a CommonJS native addon). */
import { createRequire } from "node:module";
import type * as Wrtc from "@roamhq/wrtc";

const load = createRequire(import.meta.url);
export const wrtc = load("@roamhq/wrtc") as typeof Wrtc;
export const { RTCPeerConnection, MediaStream, nonstandard } = wrtc;
export type RTCVideoSource = Wrtc.nonstandard.RTCVideoSource;
export type RTCAudioSource = Wrtc.nonstandard.RTCAudioSource;

/**
 * How a camera's video source is made. `needsDenoising: false` turns off libvpx's VP8 denoiser in each call's
 * encoder (libwebrtc turns it on for any camera track): it keeps five more frame buffers per encoder (its running
 * averages), about 9 MB a 720p call and 20 MB a 1080p call, and spends encode time on noise an IP camera's own
 * encoder has already smoothed away. Measured with the bench, docs/benchmark.md ("Memory per call").
 */
export function newCameraVideoSource(): RTCVideoSource {
  return new nonstandard.RTCVideoSource({ needsDenoising: false });
}

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
