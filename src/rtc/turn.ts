import { z } from "zod";
import type { Logger } from "../util/logger.ts";

/** GET /_matrix/client/v3/voip/turnServer; `{}` when the homeserver has no TURN configured. */
const turnResponseSchema = z.object({
  username: z.string(),
  password: z.string(),
  uris: z.array(z.string()).min(1),
  ttl: z.number().nonnegative(),
});
/** What a homeserver without TURN answers: an object without `uris`. */
const noTurnSchema = z.object({ uris: z.undefined().optional() }).loose();

export type TurnFetcher = () => Promise<unknown>;

/**
 * Keeps the homeserver's TURN credentials as RTCIceServers, refetching them before `ttl` runs out
 * (at 80 % of it, at most every 10 s). Without TURN the list is empty.
 */
export class TurnCredentials {
  private servers: RTCIceServer[] = [];
  private expiresAt = 0;
  private inflight: Promise<void> | undefined;
  private forbidden = false;

  constructor(
    private readonly fetchTurn: TurnFetcher,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** ICE servers for a new peer connection, refreshed first if they are (nearly) stale. */
  async iceServers(): Promise<RTCIceServer[]> {
    if (!this.forbidden && this.now() >= this.expiresAt) {
      this.inflight ??= this.refresh().finally(() => {
        this.inflight = undefined;
      });
      await this.inflight;
    }
    return this.servers;
  }

  private async refresh(): Promise<void> {
    try {
      const response = await this.fetchTurn();
      const turn = turnResponseSchema.safeParse(response);
      if (turn.success) {
        const { uris, username, password, ttl } = turn.data;
        this.servers = [{ urls: uris, username, credential: password }];
        this.expiresAt = this.now() + Math.max(10_000, ttl * 800);
        this.log.info({ uris, ttlSeconds: ttl }, "TURN credentials fetched from the homeserver");
      } else if (noTurnSchema.safeParse(response).success) {
        this.servers = [];
        this.expiresAt = this.now() + 10 * 60_000;
        this.log.info("the homeserver offers no TURN server: calls across NAT may fail");
      } else {
        this.log.warn("homeserver sent a malformed TURN response; calling without TURN");
        this.servers = [];
        this.expiresAt = this.now() + 60_000;
      }
    } catch (err: unknown) {
      const status = (err as { statusCode?: unknown }).statusCode;
      if (status === 403) this.forbidden = true;
      this.log.warn({ err, status }, "could not fetch TURN credentials; calling without TURN");
      this.expiresAt = this.now() + 60_000;
    }
  }
}
