/**
 * Issue 14's targets for a call's start, for every way a call starts that the bench measures: `!call` (ttff, cold and
 * warm) and a doorbell press (webhook, MQTT; the camera idle). The ring: ≤ 100 ms to the bot's invite, ≤ 250 ms to
 * the callee's client ringing. The picture: the answer received by the bot → the callee's first decoded frame,
 * ≤ 150 ms on a warm camera, ≤ 400 ms when the call started the camera. Written once.
 */
import { fmt, max, median } from "../stats.ts";
import type { Results, TtffResult } from "./results.ts";
import type { Target } from "./targets.ts";

export const INVITE_MS = 100;
export const RING_MS = 250;
export const WARM_PICTURE_MS = 150;
export const COLD_PICTURE_MS = 400;

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

/**
 * The "answer received": from the bot applying the callee's answer, not from the callee's answer() call
 * (matrix-js-sdk waits ~200–270 ms for its own ICE gathering before it even sends the answer; the ttff table shows
 * that part as "answer→bot connecting"). Older result files lack the field: they fall back to answer().
 */
function picture(what: string, limit: number, results: readonly (TtffResult | undefined)[]): Target {
  const times = results.flatMap((t) =>
    (t?.answerReceivedToFirstFrame ?? []).length > 0 ? (t?.answerReceivedToFirstFrame ?? []) : (t?.answerToFirstFrame ?? []),
  );
  const m = median(times);
  return {
    figure: `picture: answer received by the bot → first decoded frame, ${what} (median)`,
    target: `≤ ${String(limit)} ms`,
    measured: `${ms(m)} (max ${ms(max(times))})`,
    met: m === undefined ? undefined : m <= limit,
  };
}

export function startTargets(r: Results): Target[] {
  const kind = (k: TtffResult["kind"]): TtffResult | undefined => r.ttff.find((x) => x.kind === k);
  const presses = [kind("webhook"), kind("mqtt")];
  return [
    ...pair("!call", [kind("cold"), kind("warm")]),
    ...pair("doorbell press (webhook)", [kind("webhook")]),
    ...pair("doorbell press (MQTT)", [kind("mqtt")]),
    picture("warm camera", WARM_PICTURE_MS, [kind("warm")]),
    picture("call started the camera", COLD_PICTURE_MS, [kind("cold")]),
    picture("doorbell press, the call started the camera", COLD_PICTURE_MS, presses),
  ];
}
