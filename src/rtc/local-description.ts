import type { CandidateWire } from "./candidate.ts";
import { mapMediaSections } from "./sdp-sections.ts";

/**
 * A peer connection's local SDP, candidates included, made without reading `pc.localDescription`.
 *
 * wrtc's `localDescription` getter takes libwebrtc's description from the signalling thread and serializes it on
 * Node's thread, while the signalling thread goes on adding the candidates ICE gathers to that same description: a
 * data race that kills the process (SIGSEGV in webrtc::SdpSerialize; how often: docs/reliability.md). The bot read it
 * for every invite and answer, after the host candidates but while server-reflexive and relay ones were still coming.
 * Once gathering is complete (ice-gathering.ts) nothing writes to it any more; until then only this is safe.
 *
 * The SDP is the one handed to setLocalDescription plus the candidates gathered for it that Node's thread has been
 * told of (any still on their way are trickled: PeerLink), each in its m-section (by mid, else by index) as libwebrtc
 * writes them (without the `ufrag` extension, which the section's ice-ufrag says). A candidate of another ICE
 * generation than the SDP's is left out; one the SDP already has is not added twice (an offer made again without an
 * ICE restart already carries the earlier ones). The m-line's port and the c-line stay the placeholders of a trickled
 * SDP (9, 0.0.0.0): a receiver takes the candidates from the a=candidate lines.
 */
export class LocalDescription {
  private current: { type: RTCSdpType; sdp: string; ufrag: string | undefined } | undefined;
  private gathered: CandidateWire[] = [];

  /**
   * Call before setLocalDescription(desc), whose candidates may be delivered before its promise settles; call the
   * returned undo if setLocalDescription rejects (the connection keeps its description, and this follows it again).
   */
  set(desc: RTCSessionDescriptionInit): () => void {
    if (desc.sdp === undefined) throw new Error("a local description needs its SDP (implicit descriptions are not followed)");
    const before = { current: this.current, gathered: this.gathered };
    const ufrag = iceUfrag(desc.sdp);
    this.current = { type: desc.type, sdp: desc.sdp, ufrag };
    // Only the new generation's candidates can still go into an SDP: a call's list stays as long as one gathering.
    this.gathered = this.gathered.filter((c) => candidateUfrag(c.candidate) === ufrag);
    return () => {
      this.current = before.current;
      this.gathered = before.gathered;
    };
  }

  /** A candidate ICE gathered (the icecandidate event); the end-of-candidates entry is ignored. */
  add(candidate: CandidateWire): void {
    if (candidate.candidate !== "") this.gathered.push(candidate);
  }

  /** The local SDP with every candidate gathered for it so far, or undefined before set(). */
  sdp(): string | undefined {
    const current = this.current;
    if (current === undefined) return undefined;
    return withCandidates(current.sdp, this.gathered);
  }

  /** As RTCPeerConnection.localDescription gives it: type, sdp and toJSON(), or null before set(). */
  description(): { type: RTCSdpType; sdp: string; toJSON(): { type: RTCSdpType; sdp: string } } | null {
    const sdp = this.sdp();
    if (this.current === undefined || sdp === undefined) return null;
    const plain = { type: this.current.type, sdp };
    return { ...plain, toJSON: () => plain };
  }
}

/** A connection's LocalDescription: fed by its icecandidate events, and its local description set through it. */
export class FollowedLocalDescription extends LocalDescription {
  constructor(private readonly pc: RTCPeerConnection) {
    super();
    pc.addEventListener("icecandidate", (ev: RTCPeerConnectionIceEvent) => {
      const c = ev.candidate;
      if (c === null || c.candidate === "") return;
      const wire: CandidateWire = { candidate: c.candidate };
      if (c.sdpMid !== null) wire.sdpMid = c.sdpMid;
      if (c.sdpMLineIndex !== null) wire.sdpMLineIndex = c.sdpMLineIndex;
      this.add(wire);
    });
  }

  /** setLocalDescription, followed; undone here when the connection refuses it. */
  async setLocal(desc: RTCSessionDescriptionInit): Promise<void> {
    const undo = this.set(desc);
    try {
      // eslint-disable-next-line no-restricted-syntax -- the one place: it is followed on the line above
      await this.pc.setLocalDescription(desc);
    } catch (err: unknown) {
      undo();
      throw err;
    }
  }
}

export function followLocalDescription(pc: RTCPeerConnection): FollowedLocalDescription {
  return new FollowedLocalDescription(pc);
}

/** `sdp` with the candidates written into their m-sections, after the section's own candidates (or its c-line). */
export function withCandidates(sdp: string, candidates: readonly CandidateWire[]): string {
  if (candidates.length === 0) return sdp;
  const sessionUfrag = iceUfrag(sdp.split(/^m=/m)[0] ?? "");
  let index = -1;
  return mapMediaSections(sdp, (section) => {
    index++;
    const mid = section.find((l) => l.startsWith("a=mid:"))?.slice("a=mid:".length);
    const ufrag = iceUfrag(section.join("\n")) ?? sessionUfrag;
    const lines = [...section];
    const mine = candidates.filter((c) => (c.sdpMid !== undefined && mid !== undefined ? c.sdpMid === mid : c.sdpMLineIndex === index));
    for (const c of mine) {
      const own = candidateUfrag(c.candidate);
      if (own !== undefined && own !== ufrag) continue;
      const line = `a=${c.candidate.replace(/ ufrag \S+/, "")}`;
      if (lines.includes(line)) continue;
      const after = lastIndex(lines, (l) => l.startsWith("a=candidate:"));
      const at = after >= 0 ? after : lastIndex(lines, (l) => l.startsWith("c=") || l.startsWith("m="));
      lines.splice(at + 1, 0, line);
    }
    return lines;
  });
}

function iceUfrag(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

function candidateUfrag(candidate: string): string | undefined {
  return / ufrag (\S+)/.exec(candidate)?.[1];
}

function lastIndex(lines: readonly string[], test: (line: string) => boolean): number {
  for (let i = lines.length - 1; i >= 0; i--) if (test(lines[i] ?? "")) return i;
  return -1;
}
