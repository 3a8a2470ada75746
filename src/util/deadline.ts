/**
 * Steps that share one deadline (the shutdown's): each runs until it is done or the deadline has passed, whichever
 * comes first; one that overruns is left to finish on its own and the next step starts.
 */
export type StepOutcome = "done" | "failed" | "overran";

export async function stepWithin(
  deadline: number,
  run: () => Promise<unknown>,
  now: () => number = Date.now,
): Promise<{ outcome: StepOutcome; err?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const overran = new Promise<{ outcome: StepOutcome }>((resolve) => {
    timer = setTimeout(
      () => {
        resolve({ outcome: "overran" });
      },
      Math.max(0, deadline - now()),
    );
  });
  const done = run().then(
    () => ({ outcome: "done" as const }),
    (err: unknown) => ({ outcome: "failed" as const, err }),
  );
  try {
    return await Promise.race([done, overran]);
  } finally {
    clearTimeout(timer);
  }
}
