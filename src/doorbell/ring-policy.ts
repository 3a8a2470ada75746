/**
 * Doorbell presses to rings: per camera, presses within the debounce window ring once; each press that rings is a
 * RingRound. Presses that would ring are also limited, from every source together (MQTT and the webhook): per camera
 * and for all cameras (`triggers.pressLimit`), and by the rounds in progress at once. Anyone who can publish to a
 * rule's topic can press; without these limits a debounce of 0 let them start a round (and a snapshot) per message.
 */
import type { MatrixClient } from "matrix-bot-sdk";
import type { CallRequest } from "../admission/admission.ts";
import type { Admission } from "../admission/refusal.ts";
import type { CallManager } from "../call/manager.ts";
import type { CameraConfig } from "../config/load.ts";
import { type Logger } from "../util/logger.ts";
import { Debouncer } from "./debounce.ts";
import { LogOnce } from "./log-once.ts";
import { RateLimiter } from "./rate-limit.ts";
import type { DmRooms } from "./dm-rooms.ts";
import { RingRound } from "./ring-round.ts";
import type { DoorbellRtc } from "./ring-ways.ts";
import type { Snapshotter } from "./snapshot.ts";

export type PressResult = "ringing" | "debounced" | "limited" | "not_a_doorbell" | "stopped";

export interface RingPolicyDeps {
  client: MatrixClient;
  calls: CallManager;
  /** MatrixRTC rings for the users who chose them (`!ring`, matrixRtc.ringVia); absent: legacy calls only. */
  rtc?: DoorbellRtc | undefined;
  /** Whether each ring may start (admission/admission.ts). */
  admission: { decide(req: CallRequest): Promise<Admission> };
  dms: DmRooms;
  snapshots: Snapshotter;
  cameras: readonly CameraConfig[];
  inviteLifetimeMs: number;
  /** Resolves once the camera's pipeline shows a picture, or soon when it does not (ring-round.ts). */
  pictureFlowing(camera: string): Promise<void>;
  /** Rings per camera: a burst, refilled at perMinute; four times that for all cameras together. */
  pressLimit: { burst: number; perMinute: number };
  log: Logger;
}

const STOP_WAIT_MS = 5_000;
/**
 * Rounds in progress at once, all cameras together. A round lives for the invite lifetime (60 s by default) and
 * posts into every rung chat; more than this at once is a flood, not visitors.
 */
export const MAX_ACTIVE_ROUNDS = 16;

export class RingPolicy {
  private readonly debouncer = new Debouncer();
  private readonly limiter: RateLimiter;
  private readonly logOnce: LogOnce;
  private readonly rounds = new Map<RingRound, Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: RingPolicyDeps) {
    this.limiter = new RateLimiter(deps.pressLimit);
    this.logOnce = new LogOnce(deps.log);
  }

  /** The cameras a press can ring (those with `ring`). */
  doorbells(): Set<string> {
    return new Set(this.deps.cameras.filter((c) => c.ring !== undefined).map((c) => c.name));
  }

  /** A press of `camera`'s doorbell from `source` ("webhook", "mqtt rules[0]", …). Never throws. */
  press(camera: string, source: string): PressResult {
    const cam = this.deps.cameras.find((c) => c.name === camera);
    const ring = cam?.ring;
    if (cam === undefined || ring === undefined) return "not_a_doorbell";
    if (this.stopped) return "stopped";
    const log = this.deps.log.child({ camera, source });
    if (!this.debouncer.ready(camera, ring.debounceMs)) {
      log.info({ debounceMs: ring.debounceMs }, "doorbell pressed again within the debounce window: not ringing again");
      return "debounced";
    }
    // Checked after the debounce, so presses it swallows cost nothing; before it starts a window, so a press
    // refused here does not make the next one debounced.
    if (this.rounds.size >= MAX_ACTIVE_ROUNDS) {
      this.logOnce.warn(
        `rounds ${camera}`,
        { camera, source, rounds: this.rounds.size },
        "doorbell pressed while too many rings are in progress: not ringing",
      );
      return "limited";
    }
    const limit = this.limiter.check(camera);
    if (!limit.ok) {
      this.logOnce.warn(
        `rate ${camera}`,
        { camera, source, retryAfterMs: limit.retryAfterMs, ...this.deps.pressLimit },
        "doorbell pressed too often: not ringing (triggers.pressLimit)",
      );
      return "limited";
    }
    this.debouncer.fire(camera, ring.debounceMs);
    log.info({ users: ring.users.length }, "doorbell pressed: ringing");
    const round = new RingRound(
      {
        client: this.deps.client,
        calls: this.deps.calls,
        rtc: this.deps.rtc,
        dms: this.deps.dms,
        snapshots: this.deps.snapshots,
        inviteLifetimeMs: this.deps.inviteLifetimeMs,
        pictureFlowing: (camera) => this.deps.pictureFlowing(camera),
        admission: this.deps.admission,
      },
      cam,
      ring,
      log,
    );
    const running = round
      .run()
      .catch((err: unknown) => {
        log.error({ err }, "ringing failed");
      })
      .finally(() => this.rounds.delete(round));
    this.rounds.set(round, running);
    return "ringing";
  }

  activeRounds(): number {
    return this.rounds.size;
  }

  /** No more rings; ringing calls are hung up; waits (bounded) for the rounds to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const round of this.rounds.keys()) round.cancel();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.rounds.values()), new Promise((resolve) => (timer = setTimeout(resolve, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }
}
