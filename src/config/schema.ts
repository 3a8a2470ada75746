import { z } from "zod";
import { ringSchema, triggersSchema } from "./doorbell-schema.ts";
import { talkbackSchema } from "./talkback-schema.ts";

const USER_ID = /^@[^\s:]+:[^\s]+$/;
const SERVER_PATTERN = /^\*:[^\s]+$/;
const CAMERA_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
/** An allowlist entry: a full user ID, or "*:server" for every user of a server. */
const accessEntry = z.string().refine((s) => USER_ID.test(s) || SERVER_PATTERN.test(s), "must be @user:server or *:server");

/** How a user is rung by `!call`: legacy m.call.* (Element Web/Desktop, older clients), MatrixRTC (Element X), or both. */
export const ringViaSchema = z.enum(["legacy", "matrixrtc", "both"]);
export type RingVia = z.infer<typeof ringViaSchema>;

/** Hardware decoding: the one list of the choices (media/ffmpeg-args.ts's HwAccel is checked against it by a test). */
export const hwaccelSchema = z.enum(["none", "auto", "vaapi", "cuda", "qsv"]);
export type HwAccel = z.infer<typeof hwaccelSchema>;

export const cameraSchema = z
  .object({
    name: z.string().regex(CAMERA_NAME, "must be 1-32 characters of a-z, 0-9, _ or -, starting with a letter or digit"),
    /** RTSP (or any ffmpeg-readable) URL; may carry user:password@, which never reaches a log. */
    url: z.string().min(1).optional(),
    /** Read the URL from this file instead (keeps camera passwords out of the YAML). */
    urlFile: z.string().min(1).optional(),
    description: z.string().optional(),
    maxWidth: z.number().int().min(16).max(7680).default(1280),
    maxHeight: z.number().int().min(16).max(4320).default(720),
    maxFps: z.number().int().min(1).max(60).default(25),
    audio: z.boolean().default(true),
    /** Keep this camera's pipeline running between calls (doorbells: no start-up delay). */
    keepWarm: z.boolean().default(false),
    /** Hardware decoding; falls back to software (with one log line) when it does not work. */
    hwaccel: hwaccelSchema.default("none"),
    /** What reads the camera: GStreamer (absent: RTSP H.264/H.265; ffmpeg where it cannot), or ffmpeg always. */
    frontEnd: z.enum(["ffmpeg", "gstreamer"]).optional(),
    /** Who may use this camera (!call, !switch, !cameras, a call to the bot showing it); they must also pass the global allowedUsers. Default: everyone that list allows. */
    allowedUsers: z.array(accessEntry).min(1, "list at least one user, or leave allowedUsers out").optional(),
    /** Doorbell: who a press rings (see triggers). */
    ring: ringSchema.optional(),
    /** Where a callee's voice goes: off (default), auto, { onvif: true } or { exec: [argv], format, rate }. */
    talkback: talkbackSchema,
  })
  .strict()
  .refine((c) => (c.url === undefined) !== (c.urlFile === undefined), {
    message: "give exactly one of url or urlFile",
    path: ["url"],
  });

export const configSchema = z
  .object({
    homeserver: z
      .object({
        url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://matrix.example.org" }),
        accessToken: z.string().min(1).optional(),
        accessTokenFile: z.string().min(1).optional(),
        /** Log in with a password once when no access token is given; the token and device are kept in dataDir. */
        user: z.string().regex(USER_ID, "must be a full user ID such as @camera:example.org").optional(),
        password: z.string().min(1).optional(),
        passwordFile: z.string().min(1).optional(),
        deviceName: z.string().min(1).default("matrix-camera-call"),
      })
      .strict()
      .refine((h) => h.accessToken !== undefined || h.accessTokenFile !== undefined || h.user !== undefined, {
        message: "give accessToken (or accessTokenFile, or MCC_ACCESS_TOKEN), or user with password",
        path: ["accessToken"],
      })
      .refine(
        (h) =>
          h.user === undefined ||
          h.accessToken !== undefined ||
          h.accessTokenFile !== undefined ||
          h.password !== undefined ||
          h.passwordFile !== undefined,
        { message: "user needs password (or passwordFile, or MCC_PASSWORD)", path: ["password"] },
      ),
    /** Who may invite the bot and call cameras: full user IDs, or "*:server" for everyone on a server. */
    allowedUsers: z.array(accessEntry).min(1, "list at least one user (@alice:example.org) or server (*:example.org)"),
    cameras: z
      .array(cameraSchema)
      .min(1, "configure at least one camera")
      .refine((cams) => new Set(cams.map((c) => c.name)).size === cams.length, "camera names must be unique"),
    calls: z
      .object({
        /** How long an invite rings before the bot hangs up with invite_timeout (ms). */
        inviteLifetimeMs: z.number().int().min(5_000).max(600_000).default(60_000),
        /** How long ICE may stay disconnected before the bot hangs up (ms). */
        iceDisconnectedTimeoutMs: z.number().int().min(1_000).max(120_000).default(30_000),
        /** The camera a call placed to the bot (the call button in the DM) shows; default the first camera. */
        defaultCamera: z.string().regex(CAMERA_NAME, "must be the name of a camera").optional(),
        /** Calls one user may start (!call, or calling the bot) in any 60 s; more get a chat reply saying when to retry. */
        maxPerUserPerMinute: z.number().int().min(1).max(1000).default(6),
        /** Calls in progress at once (both directions, doorbell rings included); more are refused with a chat reply. */
        maxConcurrent: z.number().int().min(1).max(100).default(8),
      })
      .strict()
      .default({ inviteLifetimeMs: 60_000, iceDisconnectedTimeoutMs: 30_000, maxPerUserPerMinute: 6, maxConcurrent: 8 }),
    media: z
      .object({
        /** Path of the ffmpeg binary; default: ffmpeg-static if installed, else ffmpeg on PATH. */
        ffmpegPath: z.string().min(1).optional(),
        /**
         * The ffmpeg that reads rtsp:// cameras (software decoding): built with FFmpeg's own decoders only, no Debian
         * libraries, it reads a 1080p camera in ~22 MB where Debian's ffmpeg takes ~66 MB (media/lean-ffmpeg.ts).
         * Default: native/ffmpeg-lean/ffmpeg where scripts/lean-ffmpeg.sh built it; "none": never.
         */
        leanFfmpegPath: z.string().min(1).optional(),
        /** How long a camera pipeline keeps running after its last call ends (ms). */
        idleStopMs: z.number().int().min(0).max(600_000).default(10_000),
        /**
         * Megapixels per second per CPU core the calls may encode before the bot scales pictures down (keeping the
         * frame rate; media/encode-budget.ts). 0: never scale. A single call always gets the full picture. Each frame
         * counts 0.2 Mpx more than its pixels. Unset: 60, lowered on a machine that encodes slower than the one it was
         * chosen on (media/encode-speed.ts); set: as given.
         */
        encodeMegapixelsPerCore: z.number().min(0).max(100_000).optional(),
        /**
         * How much faster than the bandwidth estimate legacy calls send their video (libwebrtc's pacing factor;
         * rtc/field-trials.ts). 2.5 (GoogCC's own) cut glass-to-glass ~20 ms at 720p; 1.1 is libwebrtc's for video.
         * MatrixRTC calls are not affected (rtc-node has its own libwebrtc).
         */
        videoPacingFactor: z.number().min(1).max(10).default(2.5),
      })
      .strict()
      .default({ idleStopMs: 10_000, videoPacingFactor: 2.5 }),
    http: z
      .object({
        /** host:port of the bot's HTTP listener (/healthz, /metrics, the doorbell webhook). Off when absent. */
        listen: z
          .string()
          .regex(/^(\[[^\]]+\]|[^:\s]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:8080")
          .optional(),
      })
      .strict()
      .default({}),
    triggers: triggersSchema,
    /** MatrixRTC (Element Call, Element X; issue 13): where the LiveKit focus is, and who is rung that way. */
    matrixRtc: z
      .object({
        /** The focus's token service (lk-jwt-service), e.g. https://livekit-jwt.example.org; overrides discovery. */
        livekitServiceUrl: z
          .url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://livekit-jwt.example.org" })
          .optional(),
        /** How `!call` rings a user who has not chosen with `!ring`: legacy m.call.* (default), MatrixRTC, or both at once. */
        ringVia: ringViaSchema.default("legacy"),
        /** Per-user defaults (full user IDs), before a user's own `!ring` choice. */
        ringViaUsers: z.record(z.string().regex(USER_ID, "must be a full user ID such as @alice:example.org"), ringViaSchema).default({}),
      })
      .strict()
      .default({ ringVia: "legacy", ringViaUsers: {} }),
    /** Where the sync token and the login (token, device) are kept. */
    dataDir: z.string().min(1).default("./data"),
    logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  })
  .strict();

/** The configuration as the YAML file gives it (before secrets are resolved). */
export type RawConfig = z.infer<typeof configSchema>;
export type CameraRawConfig = z.infer<typeof cameraSchema>;
