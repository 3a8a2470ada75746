/**
 * Issue 14's ring targets (≤ 100 ms to the bot's invite, ≤ 250 ms to the callee's client ringing), for every way a
 * call starts that the bench measures: `!call` (ttff, cold and warm) and a doorbell press (webhook, MQTT). Written once.
 */
import { fmt, max, median } from "../stats.ts";
import type { Results, TtffResult } from "./results.ts";
import type { Target } from "./targets.ts";

export const INVITE_MS = 100;
export const RING_MS = 250;

const ms = (x: number | undefined): string => (x === undefined ? "–" : `${fmt(x)} ms`);

/** The pair of rows for one way of starting a call: `what` is its name ("!call", "doorbell press (webhook)"). */
function pair(what: string, results: readonly (TtffResult | undefined)[]): Target[] {
  const invites = results.flatMap((t) => t?.callToInvite ?? []);
  const rings = results.flatMap((t) => t?.callToRing ?? []);
  const invite = median(invites);
  const ring = median(rings);
  return [
    {
      figure: `ring: ${what} → the bot's invite sent (median)`,
      target: `≤ ${String(INVITE_MS)} ms`,
      measured: `${ms(invite)} (max ${ms(max(invites))})`,
      met: invite === undefined ? undefined : invite <= INVITE_MS,
    },
    {
      figure: `ring: ${what} → the callee's client ringing (median)`,
      target: `≤ ${String(RING_MS)} ms`,
      measured: `${ms(ring)} (max ${ms(max(rings))})`,
      met: ring === undefined ? undefined : ring <= RING_MS,
    },
  ];
}

export function ringTargets(r: Results): Target[] {
  const kind = (k: TtffResult["kind"]): TtffResult | undefined => r.ttff.find((x) => x.kind === k);
  return [
    ...pair("!call", [kind("cold"), kind("warm")]),
    ...pair("doorbell press (webhook)", [kind("webhook")]),
    ...pair("doorbell press (MQTT)", [kind("mqtt")]),
  ];
}
