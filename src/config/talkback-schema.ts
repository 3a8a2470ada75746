/** Per-camera talkback: where the callee's voice goes (the door's speaker). */
import { z } from "zod";

/** Rates an exec command may ask for: 48 kHz (what WebRTC delivers) divided by a whole number. */
export const TALKBACK_RATES = [8000, 16000, 24000, 48000] as const;

const execSchema = z
  .object({
    /** The command as one argv (no shell): argv[0] is looked up on PATH. It reads the audio on stdin. */
    exec: z.array(z.string().min(1).max(4096)).min(1).max(64),
    /** s16le: signed 16-bit little-endian mono PCM; pcmu / pcma: G.711 µ-law / A-law (8000 Hz only). */
    format: z.enum(["s16le", "pcmu", "pcma"]).default("s16le"),
    /** Samples per second. */
    rate: z.union(TALKBACK_RATES.map((r) => z.literal(r))).default(8000),
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
  .union([z.literal("off"), z.literal("auto"), z.object({ onvif: z.literal(true) }).strict(), execSchema])
  .default("off");

export type TalkbackConfig = z.infer<typeof talkbackSchema>;
export type ExecTalkback = z.infer<typeof execSchema>;
