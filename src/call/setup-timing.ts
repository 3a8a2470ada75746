/**
 * How long a call took to set up, for the metrics: "answer" is from the call being registered to
 * its answer (state connecting), "connect" from the answer to media flowing (state connected).
 * Each phase is reported once per call, read from the call's own `state` events. It was part of
 * CallManager.register; it is its own function because timing a call is no part of keeping the
 * registry of calls.
 */
import type { ActiveCall } from "./router.ts";
import { CallState } from "./state.ts";

export type SetupPhase = "answer" | "connect";

/** Reports each set-up phase of `session` to `report` once, in seconds, timed from now. */
export function watchSetup(session: ActiveCall, report: (phase: SetupPhase, seconds: number) => void): void {
  const started = performance.now();
  let answeredAt: number | undefined;
  let connected = false;
  session.on("state", (state) => {
    if (state === CallState.Connecting && answeredAt === undefined) {
      answeredAt = performance.now();
      report("answer", (answeredAt - started) / 1000);
    } else if (state === CallState.Connected && answeredAt !== undefined && !connected) {
      connected = true;
      report("connect", (performance.now() - answeredAt) / 1000);
    }
  });
}
