/**
 * What admission answers: a call may start, or a refusal with a reason code and the words the user is told.
 * The rules about calls already in progress (busy room, capacity) are here as functions, because the call
 * manager asks them again after its own awaits (TURN credentials): another call may have started meanwhile.
 */
import { concurrentLimitText } from "./call-rate.ts";

export type RefusalReason =
  /** The camera is not configured, or its `allowedUsers` leave the user out (both read "unknown" to them). */
  | "unknown_camera"
  /** A call placed to the bot would show its default camera, which the caller may not use. */
  | "camera_not_allowed"
  | "bot_not_joined"
  | "nobody_else"
  /** More than two members: a third member could see the call, or answer it. */
  | "not_direct"
  | "peer_not_allowed"
  /** The room's other member is not the user who asked (or who is rung). */
  | "other_member"
  | "room_busy"
  | "capacity"
  | "user_rate";

/** A call that may not start. `text` is what the user is told (in the room), `reason` is for code and logs. */
export interface Refusal<R extends string = RefusalReason> {
  readonly ok: false;
  readonly reason: R;
  readonly text: string;
}

/** The decision: allowed (with the member the call goes to), or refused. */
export type Admission<R extends string = RefusalReason> = { readonly ok: true; readonly callee: string } | Refusal<R>;

export function refuse<R extends string>(reason: R, text: string): Refusal<R> {
  return { ok: false, reason, text };
}

/** A refusal found where a call is being set up (the call manager): thrown, carrying the same Refusal. */
export class CallRefusedError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.text);
  }
}

/** What admission needs to know of the calls in progress (the call manager). */
export interface CallRegistry {
  callInRoom(roomId: string): unknown;
  /** Whether one more call would go over `maxConcurrent` (calls being placed count). */
  atCapacity(): boolean;
  readonly maxConcurrent: number | undefined;
}

export const ROOM_BUSY_TEXT = "A call is already in progress here. Type !hangup to end it first.";

/** A room has one call at a time. */
export function busyRefusal(calls: CallRegistry, roomId: string): Refusal | undefined {
  return calls.callInRoom(roomId) !== undefined ? refuse("room_busy", ROOM_BUSY_TEXT) : undefined;
}

/** `calls.maxConcurrent`: calls in progress at most, both directions. */
export function capacityRefusal(calls: CallRegistry): Refusal | undefined {
  return calls.atCapacity() ? refuse("capacity", concurrentLimitText(calls.maxConcurrent ?? 0)) : undefined;
}
