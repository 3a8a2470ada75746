/** Unhandled promise rejections seen by the process (main.ts's handler counts, /metrics reports). */
let count = 0;

export function noteUnhandledRejection(): void {
  count++;
}

export function unhandledRejectionCount(): number {
  return count;
}
