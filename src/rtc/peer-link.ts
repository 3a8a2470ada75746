import { errorMessage, type Logger } from "../util/logger.ts";
import type { CandidateWire } from "./candidate.ts";
import { sendAudioAs } from "./sdp-audio.ts";
import { withVideoBitrate } from "./sdp-bitrate.ts";
import { CandidateBatcher, type CandidateBatcherOptions } from "./candidate-batcher.ts";
import { IceGathering } from "./ice-gathering.ts";
import { followLocalDescription, type FollowedLocalDescription } from "./local-description.ts";
import { parseVideoStats, type VideoSendStats } from "./video-send-stats.ts";
import { createPeerConnection } from "./wrtc.ts";

export type IceConnectionState = RTCIceConnectionState;

export interface PeerLinkEvents {
  /** ICE connection state changes, for the state machine. */
  iceState(state: IceConnectionState): void;
  /** A batch of local candidates to send in m.call.candidates (the last batch ends with end-of-candidates). */
  candidates(batch: CandidateWire[]): void;
}

/** Remote candidates held until the remote description is set; more than this are dropped. */
const MAX_HELD_CANDIDATES = 200;
/**
 * Remote candidates one call takes in all, held or added, ICE restarts included; more are dropped. Each one is a
 * place libwebrtc sends STUN checks to, chosen by the peer (any address, LAN and loopback included). A client names
 * a few per network interface and generation (Element: 4-12 on a laptop), so 256 is far above any real call.
 */
export const MAX_REMOTE_CANDIDATES = 256;

/**
 * After the first host candidate, how long the other interfaces' host candidates may take to join it in the SDP.
 * Measured in the bench (2026-12-04, 11 calls): all four host candidates came within 1 ms of the first, and the
 * 10 ms this was before were 10 of the 35–50 ms the bot takes from the command to the invite. A late one is trickled.
 */
const HOST_SETTLE_MS = 2;

/**
 * The WebRTC side of one call, for both directions: the peer connection (`max-bundle`, the
 * homeserver's ICE servers), local candidates trickled in batches through a CandidateBatcher,
 * remote candidates held until a remote description is set. `close()` is idempotent.
 */
export class PeerLink {
  readonly pc: RTCPeerConnection;
  private batcher: CandidateBatcher;
  /** The local SDP as sent: never `pc.localDescription`, which crashes while ICE gathers (local-description.ts). */
  private readonly local: FollowedLocalDescription;
  /** Gathering as the events say, not the early "complete" wrtc reports when Node's thread is late (ice-gathering.ts). */
  private readonly gathering: IceGathering;
  private readonly held: CandidateWire[] = [];
  /** Remote candidates taken so far (against MAX_REMOTE_CANDIDATES). */
  private remoteTaken = 0;
  private capLogged = false;
  private remoteReady = false;
  private closed = false;
  /** A host candidate has been gathered (see gatherBriefly). */
  private hostGathered = false;
  private readonly hostListeners = new Set<() => void>();

  constructor(
    iceServers: RTCIceServer[],
    private readonly trickle: CandidateBatcherOptions,
    private readonly events: PeerLinkEvents,
    private readonly log: Logger,
  ) {
    const pc = createPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this.pc = pc;
    this.local = followLocalDescription(pc);
    this.gathering = new IceGathering(pc);
    this.batcher = this.newBatcher();
    // wrtc's end-of-candidates event (null) can come before the last candidates: the end is the gathering's.
    this.gathering.onComplete(() => {
      this.batcher.complete();
    });
    pc.onicecandidate = (ev) => {
      if (ev.candidate && ev.candidate.candidate !== "") {
        const c: CandidateWire = { candidate: ev.candidate.candidate };
        if (ev.candidate.sdpMid !== null) c.sdpMid = ev.candidate.sdpMid;
        if (ev.candidate.sdpMLineIndex !== null) c.sdpMLineIndex = ev.candidate.sdpMLineIndex;
        this.batcher.add(c);
        if (!this.hostGathered && / typ host( |$)/.test(c.candidate)) {
          this.hostGathered = true;
          for (const listener of this.hostListeners) listener();
        }
      }
    };
    pc.oniceconnectionstatechange = () => {
      this.log.info({ ice: pc.iceConnectionState }, "ICE connection state");
      this.events.iceState(pc.iceConnectionState);
    };
  }

  private newBatcher(): CandidateBatcher {
    return new CandidateBatcher((batch) => {
      if (!this.closed) this.events.candidates(batch);
    }, this.trickle);
  }

  /**
   * Lets ICE gather so that the first candidates travel inside the SDP: until the host candidates are there (plus
   * HOST_SETTLE_MS for the other interfaces'), gathering completes, or `ms` passed, whichever is first. Server-reflexive
   * and relay candidates need a round trip to a STUN/TURN server and follow in m.call.candidates. Waiting the whole
   * 200 ms the spec suggests put 200 ms between `!call` and the ring; host candidates come within ~5 ms of
   * setLocalDescription (measured with wrtc on the test machine), and the callee needs seconds to answer, long after
   * the trickled rest has arrived.
   */
  gatherBriefly(ms: number): Promise<void> {
    // Both: after an ICE restart the events still say the last round's "complete" while libwebrtc gathers again.
    if (this.gathering.state === "complete" && this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      let settle: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        clearTimeout(settle);
        offComplete();
        this.hostListeners.delete(onHost);
        resolve();
      };
      const onHost = (): void => {
        settle ??= setTimeout(done, HOST_SETTLE_MS);
      };
      const timer = setTimeout(done, ms);
      const offComplete = this.gathering.onComplete(done);
      this.hostListeners.add(onHost);
      if (this.hostGathered) onHost();
    });
  }

  /** Our offer or answer: the one way a call sets its local description, so that takeLocalSdp() can follow it. */
  setLocal(desc: RTCSessionDescriptionInit): Promise<void> {
    return this.local.setLocal(desc);
  }

  /**
   * The local SDP as it is about to be sent: everything gathered so far is in it, so the batcher
   * forgets those candidates. Throws when there is no local description.
   */
  takeLocalSdp(): string {
    const sdp = this.local.sdp();
    if (sdp === undefined) throw new Error("no local description");
    this.batcher.snapshotTaken();
    return sdp;
  }

  /** The SDP that carries our candidates went out: from now on later candidates are sent in batches. */
  startTrickle(): void {
    this.batcher.start();
  }

  /**
   * A renegotiation (e.g. an ICE restart) may gather a new generation of candidates: they are
   * trickled by a fresh batcher, which ends them with its own end-of-candidates.
   */
  renewTrickle(): void {
    this.batcher.stop();
    this.batcher = this.newBatcher();
  }

  /** Remote candidates: added now if a remote description is set, else held until it is; past the cap, dropped. */
  addRemoteCandidates(candidates: readonly CandidateWire[]): void {
    if (this.closed) return;
    const room = Math.max(0, MAX_REMOTE_CANDIDATES - this.remoteTaken);
    if (candidates.length > room && !this.capLogged) {
      this.capLogged = true;
      this.log.warn({ max: MAX_REMOTE_CANDIDATES }, "the peer sent more remote candidates than a call takes; the rest are dropped");
    }
    const taken = candidates.slice(0, room);
    this.remoteTaken += taken.length;
    this.add(taken);
  }

  private add(candidates: readonly CandidateWire[]): void {
    if (!this.remoteReady) {
      this.held.push(...candidates.slice(0, Math.max(0, MAX_HELD_CANDIDATES - this.held.length)));
      return;
    }
    for (const c of candidates) {
      this.pc.addIceCandidate(c).catch((err: unknown) => {
        this.log.debug({ err: errorMessage(err) }, "remote candidate not usable");
      });
    }
  }

  /**
   * Applies the other side's offer or answer, with the video send limits the bot wants (sdp-bitrate.ts: without them
   * libwebrtc caps 720p at 2.5 Mbit/s and drops frames) and, in an answer, the camera's sound sent as G.722
   * (sdp-audio.ts: a fifth of Opus's CPU per call). Call remoteDescriptionSet() after it.
   */
  setRemote(type: "offer" | "answer", sdp: string): Promise<void> {
    const limited = withVideoBitrate(sdp);
    return this.pc.setRemoteDescription({ type, sdp: type === "answer" ? sendAudioAs(limited) : limited });
  }

  /** setRemoteDescription succeeded: the held candidates are added. */
  remoteDescriptionSet(): void {
    this.remoteReady = true;
    this.add(this.held.splice(0));
  }

  /**
   * What the video sender has done so far (from getStats' outbound-rtp): frames sent, the encoder's current frame rate
   * and size, and why libwebrtc limits the quality ("none", "cpu", "bandwidth"). Undefined before a video sender
   * exists or once closed.
   */
  async videoStats(): Promise<VideoSendStats | undefined> {
    if (this.closed) return undefined;
    const report = await this.pc.getStats();
    let found: VideoSendStats | undefined;
    report.forEach((s: Record<string, unknown>) => {
      if (found === undefined && s["type"] === "outbound-rtp" && s["kind"] === "video") found = parseVideoStats(s);
    });
    return found;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batcher.stop();
    this.held.length = 0;
    const pc = this.pc;
    pc.onicecandidate = null;
    pc.oniceconnectionstatechange = null;
    pc.close();
  }
}
