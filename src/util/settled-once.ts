/**
 * Something that happens once, with its value: read now (`value`, undefined until then) or waited for (`done`).
 * Later set() calls are ignored, so the first report of an end is the one kept.
 */
export class SettledOnce<T> {
  private settledValue: T | undefined;
  private settled = false;
  private resolve: ((value: T) => void) | undefined;
  readonly done: Promise<T> = new Promise<T>((resolve) => (this.resolve = resolve));

  get value(): T | undefined {
    return this.settledValue;
  }

  /** Settles with `value`; false (and nothing changes) when it had already settled. */
  set(value: T): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.settledValue = value;
    this.resolve?.(value);
    return true;
  }
}
