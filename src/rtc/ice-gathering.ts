/**
 * A peer connection's ICE gathering state as Node's thread has seen it: "complete" only once every candidate event
 * of the round has been delivered.
 *
 * wrtc's icegatheringstatechange event carries no state; its handler reads libwebrtc's current one, and when that
 * reads "complete" wrtc also fires the end-of-candidates (null) icecandidate event. Both lie when Node's thread is
 * late: with the thread held 300 ms after setLocalDescription, the first event read "complete" and the null candidate
 * came before all 8 candidates (measured 2026-12-04), which would end the trickle before them. The events themselves
 * come in libwebrtc's order, one per change (gathering, complete; again for an ICE restart), after the candidates
 * gathered before them; so a "complete" read while the last event seen was not yet "gathering" is the early one.
 */
export class IceGathering {
  private seen: RTCIceGatheringState = "new";
  private readonly listeners = new Set<() => void>();

  constructor(private readonly pc: RTCPeerConnection) {
    pc.addEventListener("icegatheringstatechange", () => {
      this.onEvent(pc.iceGatheringState);
    });
  }

  get state(): RTCIceGatheringState {
    return this.seen;
  }

  /** Calls `listener` each time gathering completes (every candidate delivered); returns its removal. */
  onComplete(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves true once gathering is complete, false when `timeoutMs` pass first (or the connection closed). */
  complete(timeoutMs: number): Promise<boolean> {
    if (this.seen === "complete") return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (outcome: boolean): void => {
        clearTimeout(timer);
        off();
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        done(false);
      }, timeoutMs);
      const off = this.onComplete(() => {
        done(true);
      });
    });
  }

  private onEvent(now: RTCIceGatheringState): void {
    // "complete" read at an event that is not the round's last is the early read: this event is its "gathering".
    const next = now === "complete" && this.seen !== "gathering" ? "gathering" : now;
    this.seen = next;
    if (next === "complete" && this.pc.connectionState !== "closed") for (const listener of [...this.listeners]) listener();
  }
}
