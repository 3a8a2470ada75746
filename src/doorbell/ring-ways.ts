/**
 * The rings of one doorbell round, placed the way each user chose (`!ring`, matrixRtc.ringVia/ringViaUsers): a
 * legacy invite (call/manager.ts), a MatrixRTC ring (matrixrtc/rtc-calls.ts), or both at once, neither waiting for
 * the other's set-up. Each ring is entered into the round's RoundRace and followed until it is answered or over;
 * the race withdraws the others. Apart from ring-round.ts because placing and following a call on two paths is a
 * concern of its own; the round decides nothing here beyond what the race says.
 */
import type { OutgoingCall } from "../call/outgoing-signalling.ts";
import { CallState } from "../call/state.ts";
import type { RingVia } from "../config/schema.ts";
import type { RtcCall } from "../matrixrtc/rtc-call.ts";
import type { RtcPlaced } from "../matrixrtc/rtc-calls.ts";
import { errorMessage, type Logger } from "../util/logger.ts";
import type { RoundRace, Way } from "./round-race.ts";

export interface LegacyRinger {
  placeCall(roomId: string, invitee: string, camera: string): Promise<OutgoingCall>;
}

export interface RtcRinger {
  place(roomId: string, callee: string, camera: string, opts?: { ringLifetimeMs?: number; onRing?: () => void }): Promise<RtcPlaced>;
}

/** MatrixRTC for the doorbell: the calls, and each user's choice. Absent: every user is rung with legacy calls. */
export interface DoorbellRtc {
  calls: RtcRinger;
  choices: { for(userId: string): RingVia };
}

export interface RingWaysDeps {
  legacy: LegacyRinger;
  rtc: DoorbellRtc | undefined;
  race: RoundRace;
  camera: string;
  log: Logger;
  /** The user's ring was the first answer of the round. */
  onAnswered(user: string, room: string, way: Way): void;
  /** One line into the user's direct chat (a MatrixRTC ring that could not go out). */
  tell(room: string, text: string): void;
}

/** The least a MatrixRTC ring lasts, for a user who joined a new direct chat just before the round's end. */
const MIN_RING_MS = 5_000;
/** The most: matrix-js-sdk 42 caps a ring's lifetime at 90 s (shared/notes/matrixrtc.md §1 step 4). */
const MAX_RING_MS = 90_000;

interface Placed {
  /** The invite is out: placeCall resolves once the homeserver has it (or the call ended). */
  placed: boolean;
  /** Resolves when the ring is answered or over. */
  done: Promise<void>;
}

/** A MatrixRTC ring, or the one sentence that says why it did not go out. */
type RtcPlacement = { placed: true; done: Promise<void> } | { placed: false; done: Promise<void>; text: string };

const NOT_PLACED: Placed = { placed: false, done: Promise.resolve() };

export class RingWays {
  private readonly legacyCalls = new Set<OutgoingCall>();
  private readonly rtcCalls = new Set<RtcCall>();

  constructor(private readonly deps: RingWaysDeps) {}

  /** How `user` is rung (legacy when the bot has no MatrixRTC). */
  via(user: string): RingVia {
    return this.deps.rtc?.choices.for(user) ?? "legacy";
  }

  /** The legacy calls placed, still ringing or in progress. */
  sessions(): OutgoingCall[] {
    return [...this.legacyCalls].filter((s) => s.state !== CallState.Ended);
  }

  /**
   * Rings `user` in `room` as they chose; resolves when each of their rings is answered or over. `out` is called
   * once: when the first of the user's rings is out (the homeserver has the legacy invite, or the MatrixRTC ring:
   * before LiveKit connects), or when none could go out.
   */
  async ring(user: string, room: string, deadline: number, out: () => void = () => undefined): Promise<void> {
    const via = this.via(user);
    const log = this.deps.log.child({ user, room, via });
    const rtc = this.deps.rtc;
    let isOut = false;
    const once = (): void => {
      if (isOut) return;
      isOut = true;
      out();
    };
    const placingLegacy = via === "matrixrtc" ? Promise.resolve(NOT_PLACED) : this.placeLegacy(user, room, log);
    const placingRtc = via === "legacy" || rtc === undefined ? undefined : this.placeRtc(rtc.calls, user, room, deadline, log, once);
    for (const placing of [placingLegacy, placingRtc])
      void placing?.then(
        (p) => {
          if (p.placed) once();
        },
        () => undefined,
      );
    const [legacy, matrixrtc] = await Promise.all([placingLegacy, placingRtc]);
    if (!legacy.placed) once();
    if (matrixrtc !== undefined && !matrixrtc.placed && !this.deps.race.over) {
      // Only a user who chose both falls back to the legacy ring; a matrixrtc-only user is told why nothing rings.
      log.info({ why: matrixrtc.text }, "MatrixRTC ring not placed");
      this.deps.tell(room, legacy.placed ? `${matrixrtc.text} The legacy call rings.` : matrixrtc.text);
    }
    if (!legacy.placed && matrixrtc?.placed !== true) this.deps.race.notRung(user, this.deps.race.over ? "not_rung" : "failed");
    await Promise.all([legacy.done, matrixrtc?.done]);
  }

  /** The round's limit: rings still ringing end unanswered. */
  expire(): void {
    for (const s of this.legacyCalls) if (s.state === CallState.Ringing) s.hangup("invite_timeout");
    for (const c of this.rtcCalls) if (c.state === "connecting" || c.state === "ringing") void c.terminate("nobody answered the ring");
  }

  private async placeLegacy(user: string, room: string, log: Logger): Promise<Placed> {
    let session: OutgoingCall;
    try {
      session = await this.deps.legacy.placeCall(room, user, this.deps.camera);
    } catch (err: unknown) {
      log.warn({ err: errorMessage(err) }, "could not ring (legacy call)");
      return NOT_PLACED;
    }
    this.legacyCalls.add(session);
    // The spec has no "answered elsewhere" hangup reason for the caller's side: withdrawn invites end with user_hangup.
    this.deps.race.enter(user, "legacy", () => {
      // After the session's own state change has run its course.
      queueMicrotask(() => {
        if (session.state !== CallState.Ended) session.hangup("user_hangup");
      });
    });
    const done = new Promise<void>((resolve) => {
      const onState = (state: CallState): void => {
        if (state !== CallState.Connecting && state !== CallState.Connected) return;
        finish();
        if (this.deps.race.answered(user, "legacy")) this.deps.onAnswered(user, room, "legacy");
      };
      const onEnded = (end: { reason: string }): void => {
        finish();
        this.deps.race.ended(user, "legacy", end.reason === "declined" ? "declined" : "unanswered");
      };
      const finish = (): void => {
        session.off("state", onState);
        session.off("ended", onEnded);
        this.legacyCalls.delete(session);
        resolve();
      };
      session.on("state", onState);
      session.on("ended", onEnded);
      // The state may have moved on while placeCall resolved.
      if (session.state === CallState.Ended) onEnded({ reason: "unanswered" });
      else onState(session.state);
    });
    return { placed: true, done };
  }

  private async placeRtc(
    calls: RtcRinger,
    user: string,
    room: string,
    deadline: number,
    log: Logger,
    onRing: () => void,
  ): Promise<RtcPlacement> {
    let placed: RtcPlaced;
    try {
      // The ring lasts as long as the round (the legacy invites' lifetime, counted from the press), within what clients accept.
      const ringLifetimeMs = Math.min(MAX_RING_MS, Math.max(MIN_RING_MS, deadline - Date.now()));
      placed = await calls.place(room, user, this.deps.camera, { ringLifetimeMs, onRing });
    } catch (err: unknown) {
      placed = { ok: false, text: `MatrixRTC call not placed: ${errorMessage(err)}.` };
    }
    if (!placed.ok) return { placed: false, done: Promise.resolve(), text: placed.text };
    const call = placed.call;
    this.rtcCalls.add(call);
    this.deps.race.enter(user, "matrixrtc", () => {
      const won = this.deps.race.answeredBy;
      void call.terminate(won === undefined ? "doorbell ring withdrawn (shutdown)" : `doorbell answered by ${won.user} (${won.way})`);
    });
    if (call.notificationId !== undefined)
      log.info({ notification: call.notificationId, state: call.state }, "doorbell rings via MatrixRTC");
    const done = new Promise<void>((resolve) => {
      const onState = (state: string): void => {
        if (state === "connected") {
          finish();
          if (this.deps.race.answered(user, "matrixrtc")) this.deps.onAnswered(user, room, "matrixrtc");
        } else if (state === "ended") {
          finish();
          this.deps.race.ended(user, "matrixrtc", call.reason === "declined" ? "declined" : "unanswered");
        }
      };
      const finish = (): void => {
        call.off("state", onState);
        this.rtcCalls.delete(call);
        resolve();
      };
      call.on("state", onState);
      onState(call.state);
    });
    return { placed: true, done };
  }
}
