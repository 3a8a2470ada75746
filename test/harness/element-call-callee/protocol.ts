/**
 * What the callee page and its Node driver say to each other: the page's answers (Runtime.evaluate results) and its
 * reports (a CDP binding), as zod schemas. The driver parses everything the browser says with these; the page
 * imports only the types (so zod stays out of the bundle's hot path but the shapes are one definition).
 */
import { z } from "zod";

/** The name of the CDP binding the page reports through (window[REPORT_BINDING](json)). */
export const REPORT_BINDING = "mccCalleeReport";
/** The page's API object on window. */
export const PAGE_API = "mccCallee";

export const loginResultSchema = z.object({ userId: z.string(), deviceId: z.string() });

/** An org.matrix.msc4075.rtc.notification the callee saw in a room's live timeline. */
export const ringSchema = z.object({
  roomId: z.string(),
  eventId: z.string(),
  sender: z.string(),
  /** Epoch ms at which the page saw the event (this machine's clock, like the test's Date.now()). */
  seenAt: z.number(),
  content: z.record(z.string(), z.unknown()),
  /**
   * matrix-js-sdk 43's own verdict (parseCallNotificationContent, the parser a client uses to decide to ring):
   * valid, or its reason for rejecting the notification.
   */
  jsSdk: z.union([z.object({ valid: z.literal(true) }), z.object({ valid: z.literal(false), reason: z.string() })]),
});
export type Ring = z.infer<typeof ringSchema>;

/** A member of the room's MatrixRTC session as matrix-js-sdk's CallMembership parses it. */
export const membershipSchema = z.object({
  userId: z.string(),
  deviceId: z.string(),
  eventId: z.string().optional(),
  /** The LiveKit identity the member appears as (`user:device` for m.call.member state events). */
  rtcBackendIdentity: z.string(),
  /** The member's transport as matrix-js-sdk resolves it (foci_preferred[0] in multi-SFU mode). */
  transport: z.record(z.string(), z.unknown()).optional(),
});
export type Membership = z.infer<typeof membershipSchema>;
export const membershipsSchema = z.array(membershipSchema);

export const joinResultSchema = z.object({
  /** The LiveKit signalling URL and room the focus's /sfu/get gave. */
  livekitUrl: z.string(),
  livekitRoom: z.string(),
  /** This callee's LiveKit identity. */
  identity: z.string(),
  /** Whether a microphone track was published. */
  micPublished: z.boolean(),
});
export type JoinResult = z.infer<typeof joinResultSchema>;

export const mediaStatsSchema = z.object({
  /** LiveKit identities of the other participants. */
  remoteIdentities: z.array(z.string()),
  video: z.object({
    /** Epoch ms of the first frame presented (requestVideoFrameCallback), undefined before it. */
    firstFrameAt: z.number().optional(),
    /** Frames presented to the <video> element. */
    framesPresented: z.number(),
    /** The receiver's framesDecoded, frameWidth and frameHeight (getStats inbound-rtp). */
    framesDecoded: z.number(),
    width: z.number(),
    height: z.number(),
    /** The decoder's name as getStats reports it (e.g. libvpx), when known. */
    decoder: z.string().optional(),
  }),
  audio: z.object({
    /** getStats inbound-rtp audioLevel (0..1) of the latest poll, and its maximum since the track arrived. */
    level: z.number(),
    maxLevel: z.number(),
    totalSamplesReceived: z.number(),
  }),
});
export type MediaStats = z.infer<typeof mediaStatsSchema>;

export const reportSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("ring"), ring: ringSchema }),
  z.object({ kind: z.literal("error"), where: z.string(), message: z.string() }),
]);
export type Report = z.infer<typeof reportSchema>;
