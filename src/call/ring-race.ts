/**
 * "The first answer wins": one ring that goes out several ways at once (a `!call` rung as a legacy call and as a
 * MatrixRTC call; a doorbell ringing several users) is answered once. The first way answered wins, and every other
 * is withdrawn at once, by the withdraw function it was entered with. A way entered after the race was won is
 * withdrawn as it is entered. Pure: no timers, no I/O; the callers say when a way is answered.
 */
export class RingRace<Way extends string> {
  private readonly ways = new Map<Way, () => void>();
  private won: Way | undefined;

  /** The way that answered first, once one has. */
  get winner(): Way | undefined {
    return this.won;
  }

  /** A way the ring goes out; `withdraw` ends it unanswered (called at most once, and never for the winner). */
  enter(way: Way, withdraw: () => void): void {
    if (this.won !== undefined) {
      if (way !== this.won) withdraw();
      return;
    }
    this.ways.set(way, withdraw);
  }

  /** `way` was answered: true when it is the first (every other way is withdrawn now), false when another won. */
  answered(way: Way): boolean {
    if (this.won !== undefined) return this.won === way;
    this.won = way;
    for (const [other, withdraw] of this.ways) if (other !== way) withdraw();
    this.ways.clear();
    return true;
  }
}
