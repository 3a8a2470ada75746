/**
 * What a strict receiver requires of the bot's MatrixRTC events, written from the parsers (not from the bot's
 * builders), for tests to check the bot's events against:
 * - call.member: ruma's `SessionMembershipData` (ruma-events src/call/member/member_data.rs: application flattened
 *   as {application "m.call", call_id, scope}, device_id, foci_preferred, focus_active, expires required, created_ts
 *   optional) with `Focus::Livekit` {type "livekit", livekit_alias, livekit_service_url} and
 *   `ActiveFocus::Livekit` {type "livekit", focus_selection} (member/focus.rs). ruma reads a content that misses any
 *   of these as `EmptyMembershipData`, i.e. "left" (shared/notes/matrixrtc.md §1). Room-scoped (`m.room`) with
 *   call_id "" is what `hasRoomCall` counts (matrix-rust-sdk room_info.rs:1127-1138); created_ts is required here
 *   because the bot renews its membership from it; membershipID and m.call.intent are js-sdk's additions
 *   (MembershipManager.ts makeMyMembership). Strict: no field outside these.
 * - rtc.notification: ruma's rtc/notification.rs requires notification_type, sender_ts and lifetime; Element Web
 *   needs `m.relates_to` m.reference to the membership; the callee must be mentioned by user ID for the
 *   `.m.rule.is_user_mention` push rule; m.call.intent and slot_id are js-sdk 43's (notes §1 step 4).
 */
import { z } from "zod";

export const strictLivekitFocus = z
  .object({
    type: z.literal("livekit"),
    livekit_alias: z.string().min(1),
    livekit_service_url: z.url(),
  })
  .strict();

export const strictMembershipSchema = z
  .object({
    application: z.literal("m.call"),
    call_id: z.literal(""),
    scope: z.literal("m.room"),
    device_id: z.string().min(1),
    membershipID: z.string().min(1),
    created_ts: z.number().int().positive(),
    expires: z.number().int().positive(),
    "m.call.intent": z.enum(["video", "audio"]),
    focus_active: z.object({ type: z.literal("livekit"), focus_selection: z.string().min(1) }).strict(),
    foci_preferred: z.array(strictLivekitFocus).min(1),
  })
  .strict();

export const strictNotificationSchema = z
  .object({
    notification_type: z.literal("ring"),
    sender_ts: z.number().int().positive(),
    lifetime: z.number().int().positive(),
    "m.mentions": z.object({ user_ids: z.array(z.string()).min(1), room: z.boolean().optional() }).strict(),
    "m.relates_to": z.object({ rel_type: z.literal("m.reference"), event_id: z.string().startsWith("$") }).strict(),
    "m.call.intent": z.enum(["video", "audio"]).optional(),
    slot_id: z.string().optional(),
  })
  .strict();
