/**
 * A legacy call's remote media as matrix-js-sdk's MatrixCall holds it, and its video decoded and counted with wrtc's
 * nonstandard RTCVideoSink: what the callee (callee.ts, which also counts the audio) and the caller (js-caller.ts) see.
 */
import type { MatrixCall } from "matrix-js-sdk";
import { wrtc, type I420Frame, type WrtcStream, type WrtcTrack, type WrtcVideoSink } from "./webrtc-env.ts";

/** The streams of the call's remote feeds: the user-media feed when there is one, else every remote feed. */
export function remoteStreams(call: MatrixCall): WrtcStream[] {
  const usermedia = call.remoteUsermediaFeed;
  const feeds = usermedia !== undefined ? [usermedia] : call.getRemoteFeeds();
  return feeds.map((feed) => feed.stream as unknown as WrtcStream);
}

/**
 * One wrtc RTCVideoSink per live video track of the streams attached, each decoded frame handed to `onFrame`; once
 * stopped it attaches nothing more. `stopTracks`: stop() also ends the tracks (the harness's calls own theirs; the
 * bench receiver leaves them to its peer connections).
 */
export class VideoSinks {
  private readonly sinks = new Map<string, { sink: WrtcVideoSink; track: WrtcTrack }>();
  stopped = false;

  constructor(
    private readonly onFrame: (frame: I420Frame) => void,
    private readonly stopTracks = true,
  ) {}

  /** Attaches a sink to each live video track of `stream` not attached yet. */
  attach(stream: WrtcStream | undefined): void {
    if (this.stopped || stream === undefined) return;
    for (const track of stream.getVideoTracks()) {
      if (this.sinks.has(track.id) || track.readyState === "ended") continue;
      const sink = new wrtc.nonstandard.RTCVideoSink(track);
      sink.onframe = ({ frame }) => {
        this.onFrame(frame);
      };
      this.sinks.set(track.id, { sink, track });
    }
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const { sink, track } of this.sinks.values()) {
      sink.onframe = null;
      if (!sink.stopped) sink.stop();
      if (this.stopTracks && track.readyState !== "ended") track.stop();
    }
    this.sinks.clear();
  }
}

/** Decodes and counts the remote video of a call; once stopped (the call ended) it attaches nothing more. */
export class RemoteVideoCounter {
  frames = 0;
  width = 0;
  height = 0;
  last: I420Frame | undefined;
  private readonly video = new VideoSinks((frame) => {
    this.frames += 1;
    this.width = frame.width;
    this.height = frame.height;
    this.last = frame;
  });

  protected get stopped(): boolean {
    return this.video.stopped;
  }

  /** Attaches a sink to each live video track of `stream` not attached yet. */
  attach(stream: WrtcStream | undefined): void {
    this.video.attach(stream);
  }

  stop(): void {
    this.video.stop();
  }
}

/**
 * What a matrix-js-sdk call's own camera sends to the bot: its video transceiver's negotiated direction and the video
 * bytes it sent (outbound-rtp). The bot offers and answers its video `sendonly`, so both sides see `recvonly` and 0.
 */
export async function ownVideoSent(call: MatrixCall): Promise<{ direction: string | null | undefined; bytesSent: number }> {
  const pc = call.peerConn;
  if (pc === undefined) throw new Error("the call has no peer connection");
  const transceiver = pc.getTransceivers().find((t) => t.receiver.track.kind === "video");
  let bytesSent = 0;
  (await pc.getStats()).forEach((s: { type?: string; kind?: string; bytesSent?: number }) => {
    if (s.type === "outbound-rtp" && s.kind === "video") bytesSent += s.bytesSent ?? 0;
  });
  return { direction: transceiver?.currentDirection, bytesSent };
}

/** The audio codecs of the callee's side of a call, from getStats: what it receives (the bot's) and what it sends. */
export async function audioCodecs(call: MatrixCall): Promise<{ received: string | undefined; sent: string | undefined }> {
  const pc = call.peerConn;
  if (pc === undefined) throw new Error("the call has no peer connection");
  const all = new Map<string, { type?: string; kind?: string; codecId?: string; mimeType?: string }>();
  (await pc.getStats()).forEach((s: { id: string; type?: string; kind?: string; codecId?: string; mimeType?: string }) => {
    all.set(s.id, s);
  });
  const mime = (type: string): string | undefined => {
    const rtp = [...all.values()].find((s) => s.type === type && s.kind === "audio" && s.codecId !== undefined);
    return rtp?.codecId === undefined ? undefined : all.get(rtp.codecId)?.mimeType;
  };
  return { received: mime("inbound-rtp"), sent: mime("outbound-rtp") };
}
