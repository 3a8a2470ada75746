/**
 * Wire types of the legacy Matrix VoIP events (`m.call.*`), in one place: what the bot sends (builders)
 * and the schemas every inbound event content is parsed with before anything acts on it.
 * Spec: Client-Server API, "Voice over IP" module (test/fixtures/matrix-spec).
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { CandidateWire } from "../rtc/candidate.ts";

export { END_OF_CANDIDATES, type CandidateWire } from "../rtc/candidate.ts";

export const CallEventType = {
  Invite: "m.call.invite",
  Candidates: "m.call.candidates",
  Answer: "m.call.answer",
  Hangup: "m.call.hangup",
  Reject: "m.call.reject",
  SelectAnswer: "m.call.select_answer",
  Negotiate: "m.call.negotiate",
  SdpStreamMetadataChanged: "m.call.sdp_stream_metadata_changed",
} as const;
export type CallEventType = (typeof CallEventType)[keyof typeof CallEventType];

export function isCallEventType(type: string): boolean {
  return type.startsWith("m.call.") || type.startsWith("org.matrix.call.");
}

/** The bot places calls as version 0 (integer), which Element answers as version "1" with a party_id. */
export const OUR_VERSION = 0;
/** Calls placed to the bot are answered as version "1" (as Element does, even to a version-0 invite). */
export const V1 = "1";
export type CallVersion = typeof OUR_VERSION | typeof V1;

/**
 * The longest `lifetime` of a remote invite or negotiate the age check believes. The sender picks `lifetime`, and the
 * bot resumes its sync from the stored token after downtime: an invite with a lifetime of days would still be
 * answered hours later. Element sends 60 s (CALL_TIMEOUT_MS); twice that leaves room for slower clients.
 */
export const MAX_TRUSTED_LIFETIME_MS = 120_000;

/** Whether an event of `ageMs` is past its `lifetime`, the lifetime capped at MAX_TRUSTED_LIFETIME_MS. */
export function expired(ageMs: number, lifetime: number): boolean {
  return ageMs >= Math.min(lifetime, MAX_TRUSTED_LIFETIME_MS);
}

/** The spec's party rule (as matrix-js-sdk): a version-0 event has no party, whatever it carries. */
export function partyOf(content: { version: string | number; party_id?: string | undefined }): string | null {
  return content.version === 0 ? null : (content.party_id ?? null);
}

export type HangupReason =
  "ice_failed" | "ice_timeout" | "invite_timeout" | "user_hangup" | "user_media_failed" | "user_busy" | "unknown_error";

export interface CallBase {
  call_id: string;
  version: CallVersion;
  party_id: string;
}

export interface InviteContent extends CallBase {
  offer: { type: "offer"; sdp: string };
  lifetime: number;
  invitee: string;
}
export interface CandidatesContent extends CallBase {
  candidates: CandidateWire[];
}
export interface HangupContent extends CallBase {
  reason: HangupReason;
}
export interface RejectContent {
  call_id: string;
  version: typeof V1;
  party_id: string;
}
export interface AnswerContent extends CallBase {
  answer: { type: "answer"; sdp: string };
}
export interface NegotiateContent extends CallBase {
  description: { type: "answer"; sdp: string };
  lifetime: number;
}

export function buildInvite(base: CallBase, sdp: string, lifetime: number, invitee: string): InviteContent {
  return { ...base, offer: { type: "offer", sdp }, lifetime, invitee };
}
export function buildCandidates(base: CallBase, candidates: CandidateWire[]): CandidatesContent {
  return { ...base, candidates };
}
export function buildHangup(base: CallBase, reason: HangupReason): HangupContent {
  return { ...base, reason };
}
/** Declines a call someone placed to the bot: m.call.reject (v1), which Element honours while ringing. */
export function buildReject(callId: string, partyId: string): RejectContent {
  return { call_id: callId, version: V1, party_id: partyId };
}
export function buildAnswer(base: CallBase, sdp: string): AnswerContent {
  return { ...base, answer: { type: "answer", sdp } };
}
/** The answer to an m.call.negotiate offer (spec: the receiver must respond with type "answer"). */
export function buildNegotiateAnswer(base: CallBase, sdp: string, lifetime: number): NegotiateContent {
  return { ...base, description: { type: "answer", sdp }, lifetime };
}

// ---- inbound ----

/** `version` is a string ("1"); implementations must accept integer 0; anything else is treated as "1". */
const version = z.union([z.string(), z.number()]);
const callId = z.string().min(1).max(255);
const partyId = z.string().min(1).max(255).optional();

const base = { call_id: callId, version, party_id: partyId };

export const answerSchema = z.object({
  ...base,
  answer: z.object({
    type: z.literal("answer"),
    sdp: z
      .string()
      .min(1)
      .max(256 * 1024),
  }),
});
export type AnswerIn = z.infer<typeof answerSchema>;

export const candidatesSchema = z.object({
  ...base,
  candidates: z
    .array(
      z.object({
        candidate: z.string().max(4096),
        sdpMid: z.string().max(64).nullish(),
        sdpMLineIndex: z.number().int().min(0).max(1024).nullish(),
        usernameFragment: z.string().max(256).nullish(),
      }),
    )
    .max(500),
});
export type CandidatesIn = z.infer<typeof candidatesSchema>;

export const hangupSchema = z.object({ ...base, reason: z.string().max(255).optional() });
export type HangupIn = z.infer<typeof hangupSchema>;

export const rejectSchema = z.object(base);
export type RejectIn = z.infer<typeof rejectSchema>;

export const selectAnswerSchema = z.object({ ...base, selected_party_id: z.string().min(1).max(255) });
export type SelectAnswerIn = z.infer<typeof selectAnswerSchema>;

export const negotiateSchema = z.object({
  ...base,
  description: z.object({
    type: z.enum(["offer", "answer"]),
    sdp: z
      .string()
      .min(1)
      .max(256 * 1024),
  }),
  lifetime: z.number().int().positive(),
});
export type NegotiateIn = z.infer<typeof negotiateSchema>;

export const inviteSchema = z.object({
  ...base,
  offer: z.object({
    type: z.literal("offer"),
    sdp: z
      .string()
      .min(1)
      .max(256 * 1024),
  }),
  lifetime: z.number().int().positive(),
  invitee: z.string().optional(),
});
export type InviteIn = z.infer<typeof inviteSchema>;

/** The candidates of an m.call.candidates that addIceCandidate can take: no end-of-candidates, each tied to an m-line. */
export function usableCandidates(content: CandidatesIn): CandidateWire[] {
  const usable: CandidateWire[] = [];
  for (const c of content.candidates) {
    if (c.candidate === "" || (c.sdpMid == null && c.sdpMLineIndex == null)) continue;
    const w: CandidateWire = { candidate: c.candidate };
    if (c.sdpMid != null) w.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex != null) w.sdpMLineIndex = c.sdpMLineIndex;
    usable.push(w);
  }
  return usable;
}

/** The call_id of any call event content, or undefined when it has none. */
export function callIdOf(content: unknown): string | undefined {
  const parsed = z.object({ call_id: callId }).safeParse(content);
  return parsed.success ? parsed.data.call_id : undefined;
}

/** A fresh opaque identifier (call and party IDs): the spec's grammar [0-9A-Za-z._~-], here base64url without padding. */
export function opaqueId(bytes: number): string {
  return randomBytes(bytes)
    .toString("base64url")
    .replace(/[^0-9A-Za-z._~-]/g, "");
}
