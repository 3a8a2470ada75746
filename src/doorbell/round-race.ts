/**
 * Who answered a doorbell ring round, and what became of everyone else: the round's pure bookkeeping, apart from
 * ring-round.ts (rooms, admission, messages) and ring-ways.ts (placing the calls). Every ring of the round (each
 * user's legacy invite and MatrixRTC ring) is one way of one RingRace, so the first answer on any path, by any user,
 * wins and every other ring of the round is withdrawn at once: the same rule as a `!call` rung both ways.
 *
 * A user's own decline on one path withdraws their other ring too (as m.call.reject ends an invite on all their
 * devices): they said no. A user's outcome is settled when their last ring ends. No timers, no I/O.
 */
import { RingRace } from "../call/ring-race.ts";

export type Way = "legacy" | "matrixrtc";

export type Outcome = "pending" | "no_room" | "busy" | "failed" | "answered" | "declined" | "unanswered" | "not_rung";

interface UserRings {
  outcome: Outcome;
  /** The rings still out, each with its withdraw. */
  live: Map<Way, () => void>;
  /** A ring of the user's ended declined. */
  declined: boolean;
}

export class RoundRace {
  private readonly race = new RingRace<string>();
  private readonly users = new Map<string, UserRings>();
  private winner: { user: string; way: Way } | undefined;
  private cancelled = false;

  /** The user who answered, and how, once someone has. */
  get answeredBy(): { user: string; way: Way } | undefined {
    return this.winner;
  }

  /** No new ring goes out: the round was answered or cancelled. */
  get over(): boolean {
    return this.winner !== undefined || this.cancelled;
  }

  outcome(user: string): Outcome {
    return this.users.get(user)?.outcome ?? "pending";
  }

  outcomes(): Record<string, Outcome> {
    return Object.fromEntries([...this.users].map(([user, u]) => [user, u.outcome]));
  }

  /** The user is not rung at all (no room, a busy room, a refusal, every placement failed, the round over). */
  notRung(user: string, outcome: "no_room" | "busy" | "failed" | "not_rung"): void {
    const u = this.user(user);
    if (u.outcome === "pending" && u.live.size === 0) u.outcome = outcome;
  }

  /**
   * A ring that went out; `withdraw` ends it unanswered (called at most once, never after it ended or won). Entered
   * once the round is over, it is withdrawn at once.
   */
  enter(user: string, way: Way, withdraw: () => void): void {
    const u = this.user(user);
    const once = (): void => {
      if (u.live.get(way) !== once) return;
      u.live.delete(way);
      if (u.outcome === "pending") u.outcome = "not_rung";
      withdraw();
    };
    u.live.set(way, once);
    if (this.cancelled) once();
    else this.race.enter(key(user, way), once);
  }

  /** The ring was answered: true when it is the first of the round (every other ring is withdrawn now). */
  answered(user: string, way: Way): boolean {
    if (this.cancelled && this.winner === undefined) return false;
    const u = this.user(user);
    // Registered before the race's withdraws run, so the winner's own entry is not withdrawn.
    const first = this.winner === undefined;
    if (first) {
      this.winner = { user, way };
      u.outcome = "answered";
      u.live.delete(way);
    }
    return this.race.answered(key(user, way)) && first;
  }

  /** The ring ended unanswered (not withdrawn by the round): a decline withdraws the user's other ring too. */
  ended(user: string, way: Way, how: "declined" | "unanswered"): void {
    const u = this.user(user);
    if (!u.live.delete(way)) return;
    if (how === "declined") {
      u.declined = true;
      for (const withdraw of [...u.live.values()]) withdraw();
    }
    if (u.live.size === 0 && (u.outcome === "pending" || u.outcome === "not_rung")) u.outcome = u.declined ? "declined" : "unanswered";
  }

  /** Shutdown: every ring still out is withdrawn; the answered call (if any) is left to the bot's own shutdown. */
  cancel(): void {
    this.cancelled = true;
    for (const u of this.users.values()) for (const withdraw of [...u.live.values()]) withdraw();
  }

  private user(user: string): UserRings {
    let u = this.users.get(user);
    if (u === undefined) {
      u = { outcome: "pending", live: new Map(), declined: false };
      this.users.set(user, u);
    }
    return u;
  }
}

const key = (user: string, way: Way): string => `${way} ${user}`;
