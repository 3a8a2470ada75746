/**
 * A peer connection without Matrix, from this process to the receiver process (signalling over the receiver's IPC):
 * the reference pipeline and the encode floor use it. Offer and answer carry all candidates (gathering is waited for).
 */
import { IceGathering } from "../src/rtc/ice-gathering.ts";
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

/**
 * A local description without trickle: what the bot would have handed setLocalDescription, with every candidate once
 * gathering completes (or those gathered within `timeoutMs`). Call before setting it.
 */
export function gatheredDescription(pc: RTCPeerConnection): {
  set(desc: RTCSessionDescriptionInit): Promise<void>;
  sdp(timeoutMs: number): Promise<string>;
} {
  const local = followLocalDescription(pc);
  const gathering = new IceGathering(pc);
  return {
    set: (desc) => local.setLocal(desc),
    sdp: async (timeoutMs) => {
      await gathering.complete(timeoutMs);
      const sdp = local.sdp();
      if (sdp === undefined) throw new Error("no local description");
      return sdp;
    },
  };
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
    const local = gatheredDescription(pc);
    await local.set(await pc.createOffer());
    const sdp = await local.sdp(3_000);
    const answer = await receiver.plainOffer(id, sdp);
    await pc.setRemoteDescription({ type: "answer", sdp: opts.botBitrate === true ? withVideoBitrate(answer.sdp) : answer.sdp });
  } catch (err: unknown) {
    close();
    throw err;
  }
  return { id, key: `p:${id}`, startedAt, pc, close };
}
