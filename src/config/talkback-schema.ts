/** Per-camera talkback: where the callee's voice goes (the door's speaker). */
import { z } from "zod";

/** Rates an exec command may ask for: 48 kHz (what WebRTC delivers) divided by a whole number. */
export const TALKBACK_RATES = [8000, 16000, 24000, 48000] as const;

/**
 * How far the camera's own sound toward the calls is turned down while a callee talks through the door, so they
 * do not hear their voice back from the door's microphone (0: never). 15 dB takes the echo under the visitor's
 * voice without making the door go silent (see talkback/ducker.ts and docs/talkback.md for the measurement).
 */
export const DEFAULT_DUCK_DB = 15;
const duckDbSchema = z.number().min(0).max(60).default(DEFAULT_DUCK_DB);

const execSchema = z
  .object({
    /** The command as one argv (no shell): argv[0] is looked up on PATH. It reads the audio on stdin. */
    exec: z.array(z.string().min(1).max(4096)).min(1).max(64),
    /** s16le: signed 16-bit little-endian mono PCM; pcmu / pcma: G.711 µ-law / A-law (8000 Hz only). */
    format: z.enum(["s16le", "pcmu", "pcma"]).default("s16le"),
    /** Samples per second. */
    rate: z.union(TALKBACK_RATES.map((r) => z.literal(r))).default(8000),
    duckDb: duckDbSchema,
  })
  .strict()
  .refine((e) => e.format === "s16le" || e.rate === 8000, { message: "G.711 (pcmu, pcma) is 8000 Hz only", path: ["rate"] });

/**
 * off (the default): the callee's audio goes nowhere. A speaker at the door is a privacy matter: nobody's voice
 * comes out of it unless whoever configures the camera says so.
 * auto: the camera's ONVIF backchannel when it offers one, else the call is one way (one info line).
 * { onvif: true }: the camera's ONVIF backchannel; a camera offering none logs one warning line, the call goes on.
 * { exec: [...] }: a command gets the audio on stdin for as long as a call of the camera is connected.
 */
export const talkbackSchema = z
  .union([z.literal("off"), z.literal("auto"), z.object({ onvif: z.literal(true), duckDb: duckDbSchema }).strict(), execSchema])
  .default("off");

export type TalkbackConfig = z.infer<typeof talkbackSchema>;
export type ExecTalkback = z.infer<typeof execSchema>;
