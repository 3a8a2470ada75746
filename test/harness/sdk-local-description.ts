/**
 * matrix-js-sdk's MatrixCall (the legacy callee in tests and the bench) reads `peerConn.localDescription` 200 ms after
 * setting it, and for a negotiation answer at once, whether ICE is still gathering or not. wrtc's getter races
 * gathering and can kill the process (src/rtc/local-description.ts), so the peer connections MatrixCall makes answer
 * it from what was set plus the candidates gathered since; everything else goes to wrtc's connection itself.
 */
import { followLocalDescription } from "../../src/rtc/local-description.ts";

const PATCHED = Symbol("mcc.followsLocalDescription");

type Fn = (...args: unknown[]) => unknown;

function following(pc: RTCPeerConnection): RTCPeerConnection {
  const local = followLocalDescription(pc);
  const setLocal = async (desc?: RTCSessionDescriptionInit): Promise<void> => {
    if (desc === undefined) throw new Error("the test harness follows explicit local descriptions only");
    await local.setLocal(desc);
  };
  return new Proxy(pc, {
    get(target, prop) {
      if (prop === "localDescription") return local.description();
      if (prop === "setLocalDescription") return setLocal;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as Fn).bind(target) : value;
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target);
    },
  });
}

/** Makes MatrixCall's peer connections follow their local description (once per process). */
export function followSdkLocalDescriptions(matrixCall: { prototype: object }): void {
  const proto = matrixCall.prototype as { createPeerConnection: () => RTCPeerConnection; [PATCHED]?: true };
  if (proto[PATCHED] === true) return;
  const original = proto.createPeerConnection;
  proto.createPeerConnection = function (this: unknown): RTCPeerConnection {
    return following(original.call(this));
  };
  proto[PATCHED] = true;
}
