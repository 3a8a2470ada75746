/** Configuration of the ways a doorbell press rings people (webhook, MQTT) and of whom it rings. */
import { z } from "zod";

const USER_ID = /^@[^\s:]+:[^\s]+$/;

/** Per camera: who a press of this camera's doorbell rings. */
export const ringSchema = z
  .object({
    /** The users to ring (each in their direct chat with the bot). */
    users: z.array(z.string().regex(USER_ID, "must be a full user ID such as @alice:example.org")).min(1),
  })
  .strict();

/** Top level `triggers`: how presses arrive. */
export const triggersSchema = z.object({}).strict().default({});
