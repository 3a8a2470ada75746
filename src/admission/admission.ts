/**
 * Whether a call may start: the one place that decides, for `!call` (a "command"), a call placed to the bot
 * ("inbound"), a MatrixRTC call a user starts in their DM, which the bot joins ("rtc-inbound"), and a doorbell ring
 * ("ring"). The rules are one ordered list; each says which kinds of call it
 * applies to, and the first that refuses decides. A new rule (quiet hours, a per-camera right) is one more entry
 * in RULES, in the place its refusal should win over the others.
 *
 * Not here, on purpose: who may talk to the bot at all (the allowlist on a sender is checked before any
 * command or invite is looked at, and a stranger is ignored without a word), and the glare rule between a
 * call placed to the bot and the bot's own call in that room (call/glare.ts: protocol, not policy).
 */
import { CameraAccess, type AccessList } from "./access.ts";
import type { UserCallRate } from "./call-rate.ts";
import { userRateText } from "./call-rate.ts";
import { busyRefusal, capacityRefusal, refuse, type Admission, type CallRegistry, type Refusal, type RefusalReason } from "./refusal.ts";
import { examineCallRoom, type RoomFault } from "./room-check.ts";

/**
 * "rtc-inbound" is a call to the bot like "inbound" (the same rules and words), and the busy rule applies to it too:
 * a MatrixRTC call has no glare rule to settle it against the bot's call in the room (its own MatrixRTC call there
 * takes the caller's membership as the answer before admission is asked).
 */
export type CallKind = "command" | "inbound" | "rtc-inbound" | "ring";

export interface CallRequest {
  readonly kind: CallKind;
  readonly roomId: string;
  /** Who typed `!call`, who calls the bot, or who is rung. */
  readonly user: string;
  /** The camera the call would show (a call to the bot: the default camera; undefined when none is configured). */
  readonly camera: string | undefined;
}

export interface AdmissionDeps {
  readonly botUserId: string;
  readonly access: AccessList;
  readonly cameraAccess: CameraAccess;
  /** The configured cameras' names, in their order. */
  readonly cameras: readonly string[];
  /** The room's joined members (asked at most once per decision, and only when a rule needs them). */
  members(roomId: string): Promise<readonly string[]>;
  readonly calls: CallRegistry;
  /** `calls.maxPerUserPerMinute`; no limit when absent. */
  readonly rate?: UserCallRate | undefined;
}

/** What a rule is given: the request, the bot's parts, and the room's check (made on first use). */
export interface RuleInput {
  readonly req: CallRequest;
  readonly deps: AdmissionDeps;
  readonly room: () => Promise<{ ok: true; callee: string } | RoomFault>;
}

export interface Rule<R extends string = RefusalReason> {
  /** For logs and tests. */
  readonly name: string;
  readonly kinds: readonly CallKind[];
  check(input: RuleInput): Refusal<R> | undefined | Promise<Refusal<R> | undefined>;
}

/** How a room refusal opens, per kind: `!call` and a call to the bot are answered in the room, a ring only logged. */
const PREFIX: Record<CallKind, string> = {
  command: "I can't call here: ",
  inbound: "I can't answer calls here: ",
  "rtc-inbound": "I can't answer calls here: ",
  ring: "not rung: ",
};

/** The names of the cameras `user` may use: the only ones the bot names to them. */
export function camerasFor(deps: AdmissionDeps, user: string): string[] {
  return deps.cameras.filter((name) => deps.cameraAccess.allows(user, name));
}

/** `!call <camera>`: a camera the user may not use is one the bot does not name to them, "unknown" like a missing one. */
const commandCamera: Rule = {
  name: "camera rights (!call: before the room, it needs no request)",
  kinds: ["command"],
  check: ({ req, deps }) => {
    const names = camerasFor(deps, req.user);
    if (req.camera === undefined || names.includes(req.camera)) return undefined;
    return refuse("unknown_camera", `Unknown camera "${req.camera.slice(0, 32)}". Cameras: ${names.join(", ")}`);
  },
};

const room: Rule = {
  name: "a direct chat: the bot and one allowed member",
  kinds: ["command", "inbound", "rtc-inbound", "ring"],
  check: async ({ req, room }) => {
    const check = await room();
    return check.ok ? undefined : refuse(check.code, PREFIX[req.kind] + check.reason);
  },
};

const OTHER_MEMBER: Record<CallKind, string> = {
  command: "the call would go to someone other than you.",
  inbound: "the caller is not the other member of this room.",
  "rtc-inbound": "the caller is not the other member of this room.",
  ring: "the other member of this room is not the one rung.",
};

const otherMember: Rule = {
  name: "the other member is the user",
  kinds: ["command", "inbound", "rtc-inbound", "ring"],
  check: async ({ req, room }) => {
    const check = await room();
    return check.ok && check.callee !== req.user ? refuse("other_member", PREFIX[req.kind] + OTHER_MEMBER[req.kind]) : undefined;
  },
};

/** A call to the bot (or a ring) shows a given camera: the user must be allowed to use it. */
const shownCamera: Rule = {
  name: "camera rights (call to the bot, ring)",
  kinds: ["inbound", "rtc-inbound", "ring"],
  check: ({ req, deps }) =>
    req.camera !== undefined && !deps.cameraAccess.allows(req.user, req.camera)
      ? refuse(
          "camera_not_allowed",
          `${PREFIX[req.kind]}a call to me shows a camera you may not use. Type !cameras for yours and !call <camera>.`,
        )
      : undefined,
};

/** A call to the bot that meets the bot's own call in the room is the glare rule's (call/glare.ts), not a refusal. */
const busy: Rule = {
  name: "one call per room",
  kinds: ["command", "rtc-inbound", "ring"],
  check: ({ req, deps }) => busyRefusal(deps.calls, req.roomId),
};

const capacity: Rule = {
  name: "calls.maxConcurrent",
  kinds: ["command", "inbound", "rtc-inbound", "ring"],
  check: ({ deps }) => capacityRefusal(deps.calls),
};

/** Last: it counts the call, so only one that passes every other rule is counted. Rings are not a user's doing. */
const userRate: Rule = {
  name: "calls.maxPerUserPerMinute",
  kinds: ["command", "inbound", "rtc-inbound"],
  check: ({ req, deps }) => {
    const taken = deps.rate?.take(req.user);
    return taken !== undefined && !taken.ok ? refuse("user_rate", userRateText(deps.rate?.perMinute ?? 0, taken.retryAfterMs)) : undefined;
  },
};

/** The rules in the order they are asked (the order decides which refusal a user reads when several apply). */
export const RULES: readonly Rule[] = [commandCamera, room, otherMember, shownCamera, busy, capacity, userRate];

/** `R`: the reason codes of rules added to RULES (a test's, say) beyond the standard ones. */
export class CallAdmission<R extends string = never> {
  constructor(
    private readonly deps: AdmissionDeps,
    private readonly rules: readonly Rule<RefusalReason | R>[] = RULES,
  ) {}

  /** Allowed (with the member the call goes to), or the first rule's refusal. */
  async decide(req: CallRequest): Promise<Admission<RefusalReason | R>> {
    let exam: Promise<{ ok: true; callee: string } | RoomFault> | undefined;
    const input: RuleInput = {
      req,
      deps: this.deps,
      room: () =>
        (exam ??= this.deps.members(req.roomId).then((members) => examineCallRoom(members, this.deps.botUserId, this.deps.access))),
    };
    for (const rule of this.rules) {
      if (!rule.kinds.includes(req.kind)) continue;
      const refusal = await rule.check(input);
      if (refusal !== undefined) return refusal;
    }
    const check = await input.room();
    return { ok: true, callee: check.ok ? check.callee : req.user };
  }
}

export interface AdmissionParts extends Omit<AdmissionDeps, "cameraAccess" | "cameras"> {
  readonly cameras: readonly { name: string; allowedUsers?: readonly string[] | undefined }[];
}

/** AdmissionDeps from the bot's parts: the cameras' own `allowedUsers` narrow `access`. */
export function admissionDeps(parts: AdmissionParts): AdmissionDeps {
  const { cameras, ...rest } = parts;
  return { ...rest, cameraAccess: new CameraAccess(parts.access, cameras), cameras: cameras.map((c) => c.name) };
}

/** The standard admission (RULES) from the bot's parts. */
export function callAdmission(parts: AdmissionParts): CallAdmission {
  return new CallAdmission(admissionDeps(parts));
}
