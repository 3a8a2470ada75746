import { END_OF_CANDIDATES, type CandidateWire } from "./candidate.ts";

export interface CandidateBatcherOptions {
  /** First batch after the invite (spec: about 2 s). */
  firstDelayMs?: number;
  /** Later batches. */
  nextDelayMs?: number;
}

/**
 * Trickle ICE as the spec asks: candidates gathered before the offer is sent travel inside its SDP;
 * later ones are sent in batches; when gathering completes the rest goes at once, ending with the
 * end-of-candidates entry (`{candidate: ""}`), which is always sent exactly once.
 */
export class CandidateBatcher {
  private queue: CandidateWire[] = [];
  private open = false;
  private gatheringComplete = false;
  private endSent = false;
  private batches = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly send: (candidates: CandidateWire[]) => void,
    private readonly opts: CandidateBatcherOptions = {},
  ) {}

  /** The SDP is being read for the invite: everything gathered so far is in it. */
  snapshotTaken(): void {
    this.queue = [];
  }

  /** The invite went out: from now on candidates are sent. */
  start(): void {
    this.open = true;
    if (this.gatheringComplete) this.flush();
    else if (this.queue.length > 0) this.schedule();
  }

  add(candidate: CandidateWire): void {
    if (this.stopped || this.endSent) return;
    this.queue.push(candidate);
    if (this.open) this.schedule();
  }

  /** ICE gathering finished (or a null candidate arrived). */
  complete(): void {
    if (this.gatheringComplete) return;
    this.gatheringComplete = true;
    if (this.open) this.flush();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    const delay = this.batches === 0 ? (this.opts.firstDelayMs ?? 2000) : (this.opts.nextDelayMs ?? 500);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delay);
  }

  private flush(): void {
    if (this.stopped || this.endSent) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    this.queue = [];
    if (this.gatheringComplete) {
      batch.push(END_OF_CANDIDATES);
      this.endSent = true;
    }
    if (batch.length === 0) return;
    this.batches++;
    this.send(batch);
  }
}
