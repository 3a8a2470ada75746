/**
 * The MatrixRTC events on the wire, in one place: what the bot sends (its `org.matrix.msc3401.call.member` state
 * event and the `org.matrix.msc4075.rtc.notification` ring) and what it reads (the callee's call.member, and
 * `org.matrix.msc4310.rtc.decline`). Shapes and the reason for every field: shared/notes/matrixrtc.md §1.
 *
 * Everything read is parsed with zod (it comes from the room: anyone in it can send anything), and a parse that
 * fails is a value the caller logs and ignores, never a throw.
 */
import { z } from "zod";

export const CALL_MEMBER_TYPE = "org.matrix.msc3401.call.member";
export const RTC_NOTIFICATION_TYPE = "org.matrix.msc4075.rtc.notification";
export const RTC_DECLINE_TYPE = "org.matrix.msc4310.rtc.decline";

/**
 * The MSC4143 slot the ring names (`slot_id`). matrix-js-sdk 43's parseCallNotificationContent, the parser a client
 * uses to decide to ring, rejects a notification ("Slot m.call#ROOM does not exist or is closed") unless this state
 * event is in the room and open (js-sdk 43 src/matrixrtc/utils.ts:99-111; test/e2e/element-call-callee.test.ts
 * measures both verdicts). Element Web does not use that parser yet and Element Call never reads or sends slots, so
 * the event is harmless for them (shared/notes/matrixrtc.md §1 "Future shape"). The call opens it before its ring
 * when it is not open already.
 */
export const RTC_SLOT_TYPE = "org.matrix.msc4143.rtc.slot";
export const RTC_SLOT_STATE_KEY = "m.call#ROOM";
export const RTC_SLOT_OPEN_CONTENT = { status: "open", application: { type: "m.call" } } as const;

/** Whether a slot state content is open for m.call (what js-sdk 43 checks). */
export const openSlotSchema = z.object({ status: z.literal("open"), application: z.object({ type: z.literal("m.call") }).loose() }).loose();

/**
 * 4 h, js-sdk's default membership lifetime (CallMembership.ts:37). ruma requires `expires` and measures it from
 * `created_ts`; the call re-sends the membership with a larger `expires` and the same `created_ts` before it lapses.
 */
export const MEMBERSHIP_EXPIRES_MS = 4 * 60 * 60 * 1000;

/** `_{userId}_{deviceId}_m.call`: the state key js-sdk uses outside the msc3757/3779 room versions (MembershipManager.ts:770-783). */
export function membershipStateKey(userId: string, deviceId: string): string {
  return `_${userId}_${deviceId}_m.call`;
}

export interface MembershipParams {
  userId: string;
  deviceId: string;
  roomId: string;
  livekitServiceUrl: string;
  createdTs: number;
  expiresMs: number;
}

/**
 * The bot's membership content, every field Element X's ruma parser requires (a content that misses one is read as
 * "left", silently: no ring): application, call_id, scope, device_id, focus_active, foci_preferred (each with
 * `livekit_alias`), expires. membershipID, created_ts and m.call.intent are what js-sdk/Element Call add.
 */
export function membershipContent(p: MembershipParams): Record<string, unknown> {
  return {
    application: "m.call",
    call_id: "",
    scope: "m.room",
    device_id: p.deviceId,
    membershipID: `${p.userId}:${p.deviceId}`,
    created_ts: p.createdTs,
    expires: p.expiresMs,
    "m.call.intent": "video",
    focus_active: { type: "livekit", focus_selection: "multi_sfu" },
    // livekit_alias: the room ID, as Element Call sends for ruma's sake (LocalMember.ts:863-872).
    foci_preferred: [{ type: "livekit", livekit_service_url: p.livekitServiceUrl, livekit_alias: p.roomId }],
  };
}

export interface NotificationParams {
  callee: string;
  membershipEventId: string;
  senderTs: number;
  lifetimeMs: number;
}

/**
 * The ring. The callee is mentioned by user ID: `room: true` alone needs the sender's power to notify @room
 * (Synapse's `.m.rule.is_room_mention`), `.m.rule.is_user_mention` has no such condition. `m.relates_to` is what
 * Element Web needs to find the membership; `slot_id` is what js-sdk 43 sends.
 */
export function notificationContent(p: NotificationParams): Record<string, unknown> {
  return {
    "m.mentions": { user_ids: [p.callee], room: true },
    notification_type: "ring",
    sender_ts: p.senderTs,
    lifetime: p.lifetimeMs,
    "m.call.intent": "video",
    slot_id: "m.call#ROOM",
    "m.relates_to": { rel_type: "m.reference", event_id: p.membershipEventId },
  };
}

/** The common envelope of a room event as a sync or /messages delivers it. */
export const roomEventSchema = z
  .object({
    type: z.string(),
    sender: z.string(),
    event_id: z.string(),
    origin_server_ts: z.number(),
    state_key: z.string().optional(),
    content: z.record(z.string(), z.unknown()),
  })
  .loose();
export type RoomEvent = z.infer<typeof roomEventSchema>;

const livekitFocusSchema = z
  .object({ type: z.string(), livekit_service_url: z.string().optional(), livekit_alias: z.string().optional() })
  .loose();

/**
 * A call.member content that is a session membership, as the bot reads a callee's (lenient on what the bot does not
 * use; Element Call's own memberships carry more). The bot only needs: it is an m.call, room-scoped, which device, and
 * when it lapses.
 */
export const sessionMembershipSchema = z
  .object({
    application: z.literal("m.call"),
    call_id: z.string(),
    scope: z.string(),
    device_id: z.string().min(1),
    expires: z.number().positive().optional(),
    created_ts: z.number().optional(),
    foci_preferred: z.array(livekitFocusSchema).optional(),
    focus_active: livekitFocusSchema.optional(),
  })
  .loose();
export type SessionMembership = z.infer<typeof sessionMembershipSchema>;

export type MembershipReading =
  { kind: "joined"; deviceId: string; expiresAt: number } | { kind: "left" } | { kind: "malformed"; reason: string };

/**
 * How the bot reads a call.member content: `{}` is "left" (how a member leaves); an active
 * membership is "joined" until `created_ts` (or the event's own timestamp) plus `expires`, js-sdk's 4 h when it is
 * missing; an expired one is "left"; anything else is malformed.
 */
export function readMembership(content: Record<string, unknown>, originServerTs: number, now: number): MembershipReading {
  if (Object.keys(content).length === 0) return { kind: "left" };
  const parsed = sessionMembershipSchema.safeParse(content);
  if (!parsed.success)
    return {
      kind: "malformed",
      reason: parsed.error.issues
        .map((i) => `${i.path.join(".")}: ${i.message}`)
        .join("; ")
        .slice(0, 300),
    };
  const m = parsed.data;
  if (m.call_id !== "" || m.scope !== "m.room")
    return {
      kind: "malformed",
      reason: `not the room call (call_id ${JSON.stringify(m.call_id).slice(0, 40)}, scope ${m.scope.slice(0, 40)})`,
    };
  const expiresAt = (m.created_ts ?? originServerTs) + (m.expires ?? MEMBERSHIP_EXPIRES_MS);
  if (expiresAt <= now) return { kind: "left" };
  return { kind: "joined", deviceId: m.device_id, expiresAt };
}

/** A decline (MSC4310), read only for the event it refers to. */
export const declineSchema = z
  .object({
    "m.relates_to": z.object({ rel_type: z.literal("m.reference"), event_id: z.string() }).loose(),
  })
  .loose();
