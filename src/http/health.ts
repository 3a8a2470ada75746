/** What GET /healthz answers (src/app.ts), and how doctor recognises the bot by it (src/doctor/listen.ts). */
import { z } from "zod";

export const HEALTH_APP = "matrix-camera-call";

export const healthSchema = z.object({ app: z.literal(HEALTH_APP), user: z.string(), status: z.string(), calls: z.number() }).loose();

export type Health = z.infer<typeof healthSchema>;
