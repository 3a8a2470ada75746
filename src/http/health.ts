/** What GET /healthz answers (src/app.ts), and how doctor recognises the bot by it (src/doctor/listen.ts). */
import { z } from "zod";
import type { HttpReply } from "./server.ts";

export const HEALTH_APP = "matrix-camera-call";

export const healthSchema = z.object({ app: z.literal(HEALTH_APP), user: z.string(), status: z.string(), calls: z.number() }).loose();

export type Health = z.infer<typeof healthSchema>;

/** /healthz answers 503 once the homeserver has been unreachable this long (shorter outages, e.g. its restart, are ridden out). */
const HOMESERVER_UNHEALTHY_MS = 60_000;

export interface HealthFacts {
  userId: string;
  stopping: boolean;
  /** When the sync with the homeserver started failing; undefined while it works. */
  homeserverDownSince: number | undefined;
  calls: number;
  cameras: Record<string, { state: string }>;
}

/** The reply: 503 while stopping or after HOMESERVER_UNHEALTHY_MS without the homeserver, 200 otherwise. */
export function healthReply(f: HealthFacts, now = Date.now()): HttpReply {
  const down = f.homeserverDownSince;
  const unhealthy = f.stopping || (down !== undefined && now - down >= HOMESERVER_UNHEALTHY_MS);
  return {
    status: unhealthy ? 503 : 200,
    contentType: "application/json",
    body: JSON.stringify({
      app: HEALTH_APP,
      user: f.userId,
      status: f.stopping ? "stopping" : "ok",
      homeserver: down === undefined ? "ok" : "unreachable",
      calls: f.calls,
      cameras: Object.fromEntries(Object.entries(f.cameras).map(([n, c]) => [n, c.state])),
    }),
  };
}
