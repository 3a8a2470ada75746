/**
 * A peer connection without Matrix, from this process to the receiver process (signalling over the receiver's IPC):
 * the reference pipeline and the encode floor use it. Offer and answer carry all candidates (gathering is waited for).
 */
import { followLocalDescription } from "../src/rtc/local-description.ts";
import { withVideoBitrate } from "../src/rtc/sdp-bitrate.ts";
import { MediaStream, RTCPeerConnection } from "../src/rtc/wrtc.ts";
import type { ReceiverClient } from "./receiver-client.ts";
import { nowMs } from "./stamp.ts";

let nextId = 0;

export interface PlainLink {
  id: string;
  /** The receiver's stream key for this link's samples. */
  key: string;
  /** When the link was asked for (ms since the epoch). */
  startedAt: number;
  /** The sending peer connection (for its outbound stats). */
  pc: RTCPeerConnection;
  close(): void;
}

/** Resolves once ICE gathering is complete, or after `timeoutMs`. */
export function iceGathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onChange);
      resolve();
    }
    function onChange(): void {
      if (pc.iceGatheringState === "complete") done();
    }
    pc.addEventListener("icegatheringstatechange", onChange);
  });
}

/**
 * `botBitrate`: the answer gets the bitrate lines the bot's calls set (src/rtc/sdp-bitrate.ts), so the encode floor
 * encodes as a call does (without them libwebrtc held the camera's 720p picture at 2.5 Mbit/s: 21.5 fps, "bandwidth").
 */
export async function openPlainLink(
  receiver: ReceiverClient,
  track: MediaStreamTrack,
  label: string,
  opts: { botBitrate?: boolean } = {},
): Promise<PlainLink> {
  const id = `${label}-${nextId++}`;
  const startedAt = nowMs();
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    pc.close();
    receiver.plainClose(id);
  };
  try {
    pc.addTrack(track, new MediaStream());
    const local = followLocalDescription(pc);
    const offer = await pc.createOffer();
    local.set(offer);
    await pc.setLocalDescription(offer);
    await iceGathered(pc, 3_000);
    const sdp = local.sdp();
    if (sdp === undefined) throw new Error("no local description");
    const answer = await receiver.plainOffer(id, sdp);
    await pc.setRemoteDescription({ type: "answer", sdp: opts.botBitrate === true ? withVideoBitrate(answer.sdp) : answer.sdp });
  } catch (err: unknown) {
    close();
    throw err;
  }
  return { id, key: `p:${id}`, startedAt, pc, close };
}
