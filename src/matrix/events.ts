/**
 * The Matrix event envelope as the bot reads it: the zod schemas for a room event, a message's content and a
 * membership change, and how old an event is. Every event matrix-bot-sdk hands the bot is outside input, so it is
 * parsed here before any handler looks at it; kept apart from bot.ts so the wiring, the commands and the
 * membership handling share one definition of "a well-formed event" and one notion of "too old to act on".
 */
import { z } from "zod";

/** Commands older than this (e.g. replayed by the first sync after a restart) are not carried out. */
export const MAX_COMMAND_AGE_MS = 60_000;

export const eventSchema = z.object({
  event_id: z.string(),
  type: z.string(),
  sender: z.string(),
  origin_server_ts: z.number().optional(),
  state_key: z.string().optional(),
  content: z.record(z.string(), z.unknown()),
  // membership optional: zod 4 requires an unknown() key, and a state event replacing one of another type (a second
  // call.member, a power_levels change) has a prev_content without it; such events were dropped as malformed.
  unsigned: z
    .object({ age: z.number().optional(), prev_content: z.object({ membership: z.unknown().optional() }).loose().optional() })
    .loose()
    .optional(),
});
export type RoomEvent = z.infer<typeof eventSchema>;

/** How old an event is: the server's `unsigned.age`, else from its timestamp. */
export function ageOf(event: RoomEvent): number {
  return event.unsigned?.age ?? (event.origin_server_ts !== undefined ? Date.now() - event.origin_server_ts : 0);
}

export const messageSchema = z.object({ msgtype: z.string(), body: z.string().max(4096) });
export const membershipSchema = z.object({ membership: z.string() });
