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
 *
 * A call waits for the homeserver only when it has nothing usable: before the first answer, and once credentials are
 * past their ttl. Between 80 % and 100 % of the ttl, and when asking again whether the homeserver has TURN now (every
 * 10 minutes), a call gets what is there at once and the refresh runs behind it. Why: the GET is a round trip to the
 * homeserver on the way to the ring (20 ms on the bench's local Synapse for the first call after the start; to a
 * homeserver across the internet, its round trip), and every `!call` after ten idle minutes paid it. `warm()` fetches
 * at the start, so the first call does not wait either.
 */
export class TurnCredentials {
  private servers: RTCIceServer[] = [];
  /** When to ask the homeserver again. */
  private refreshAt = 0;
  /** Until when `servers` may be handed out without waiting for a refresh (the credentials' ttl). */
  private usableUntil = 0;
  private inflight: Promise<void> | undefined;
  private forbidden = false;

  constructor(
    private readonly fetchTurn: TurnFetcher,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Fetches ahead (at the start), so that the first call does not wait for it. */
  warm(): void {
    void this.iceServers();
  }

  /** ICE servers for a new peer connection; refreshed behind the call while the ones held are still usable. */
  async iceServers(): Promise<RTCIceServer[]> {
    if (this.forbidden || this.now() < this.refreshAt) return this.held();
    this.inflight ??= this.refresh().finally(() => {
      this.inflight = undefined;
    });
    if (this.now() < this.usableUntil) return this.servers;
    await this.inflight;
    return this.held();
  }

  /** The servers held, unless their credentials are past their ttl (then none: an expired TURN login only fails). */
  private held(): RTCIceServer[] {
    return this.now() < this.usableUntil ? this.servers : [];
  }

  private async refresh(): Promise<void> {
    try {
      const response = await this.fetchTurn();
      const turn = turnResponseSchema.safeParse(response);
      if (turn.success) {
        const { uris, username, password, ttl } = turn.data;
        this.servers = [{ urls: uris, username, credential: password }];
        this.refreshAt = this.now() + Math.min(ttl * 1000, Math.max(10_000, ttl * 800));
        this.usableUntil = this.now() + ttl * 1000;
        this.log.info({ uris, ttlSeconds: ttl }, "TURN credentials fetched from the homeserver");
      } else if (noTurnSchema.safeParse(response).success) {
        this.servers = [];
        this.refreshAt = this.now() + 10 * 60_000;
        this.usableUntil = Infinity;
        this.log.info("the homeserver offers no TURN server: calls across NAT may fail");
      } else {
        this.log.warn("homeserver sent a malformed TURN response; calling without TURN");
        this.servers = [];
        this.refreshAt = this.now() + 60_000;
        this.usableUntil = 0;
      }
    } catch (err: unknown) {
      const status = (err as { statusCode?: unknown } | null | undefined)?.statusCode;
      if (status === 403) this.forbidden = true;
      this.log.warn({ err, status }, "could not fetch TURN credentials; calling without TURN");
      // What was held stays, for as long as its own ttl lasts.
      this.refreshAt = this.now() + 60_000;
    }
  }
}
