/**
 * One answer from elsewhere, reused while it is fresh: the next request is made only once it is not (one at a time),
 * a failed request is not kept, and forget() drops the answer (the one who used it was refused). For answers a call
 * would otherwise wait for on its way to the ring: the homeserver's /versions, the bot's OpenID token.
 */
export class Reused<T> {
  private held: { value: T; until: number } | undefined;
  private pending: Promise<T> | undefined;

  constructor(
    private readonly request: () => Promise<T>,
    /** How long an answer may be used, from when it came. */
    private readonly freshForMs: (value: T) => number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get(): Promise<T> {
    if (this.held !== undefined && this.now() < this.held.until) return Promise.resolve(this.held.value);
    this.pending ??= this.request()
      .then((value) => {
        this.held = { value, until: this.now() + this.freshForMs(value) };
        return value;
      })
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  /**
   * Drops the answer; with `value`, only if it is that one (an answer from elsewhere that was refused says nothing
   * of this one). Whether one was dropped.
   */
  forget(value?: T): boolean {
    if (this.held === undefined || (value !== undefined && this.held.value !== value)) return false;
    this.held = undefined;
    return true;
  }
}
