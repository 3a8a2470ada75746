/**
 * What the bot and its LiveKit process (livekit-process.ts, livekit-child.ts) say to each other, in one place.
 * Control goes over Node's IPC channel (advanced serialization, so the callee's voice travels as an Int16Array) and
 * is parsed with zod on both sides: a message that does not parse is logged and dropped. The camera's media goes the
 * other way over a pipe of its own (media-pipe.ts), so a frame never waits behind control and the bot can see how
 * much is still queued.
 *
 * Calls are numbered by the bot (`id`); the child knows nothing of rooms or users beyond the token and the callee
 * whose voice it is asked to hear.
 */
import { z } from "zod";

const id = z.number().int().positive();

export const ToChild = z.discriminatedUnion("t", [
  /** Connect with `token` (a secret: it goes to rtc-node only) and publish; `log` are the call's log bindings. */
  z.object({ t: z.literal("start"), id, url: z.string(), token: z.string(), trackName: z.string(), log: z.record(z.string(), z.string()) }),
  z.object({ t: z.literal("stop"), id }),
  /** The call shows the camera of media-pipe stream `stream` from now on (camera-streams.ts); null: none. */
  z.object({ t: z.literal("feed"), id, stream: id.nullable() }),
  z.object({ t: z.literal("listen"), id, callee: z.string() }),
  z.object({ t: z.literal("unlisten"), id }),
  /** The video encoder's figures, answered by `encoded` with the same `req`. */
  z.object({ t: z.literal("encode"), id, req: z.number().int() }),
]);
export type ToChild = z.infer<typeof ToChild>;

const figures = z.object({
  width: z.number(),
  height: z.number(),
  counters: z.object({ framesEncoded: z.number(), totalEncodeTime: z.number() }),
  resolutionChanges: z.number(),
});

export const FromChild = z.discriminatedUnion("t", [
  /** rtc-node loaded: calls may start. */
  z.object({ t: z.literal("ready") }),
  /** rtc-node cannot load here (unavailableReason); the process exits. */
  z.object({ t: z.literal("unavailable"), reason: z.string() }),
  z.object({ t: z.literal("started"), id }),
  z.object({ t: z.literal("startFailed"), id, error: z.string() }),
  z.object({ t: z.literal("connected"), id, peers: z.array(z.string()) }),
  z.object({ t: z.literal("videoPublished"), id, width: z.number(), height: z.number() }),
  z.object({ t: z.literal("peers"), id, peers: z.array(z.string()), joined: z.string().optional(), left: z.string().optional() }),
  z.object({ t: z.literal("link"), id, up: z.boolean(), peers: z.array(z.string()) }),
  z.object({ t: z.literal("ended"), id, reason: z.string() }),
  z.object({
    t: z.literal("voice"),
    id,
    samples: z.custom<Int16Array>((v) => v instanceof Int16Array),
    channels: z.number().int().positive(),
  }),
  z.object({ t: z.literal("encoded"), id, req: z.number().int(), figures: figures.nullable() }),
]);
export type FromChild = z.infer<typeof FromChild>;
