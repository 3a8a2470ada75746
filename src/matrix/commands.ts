/** Chat commands. Parsing is pure; the bot carries them out. */
import { ringViaSchema, type RingVia } from "../config/schema.ts";

export type Command =
  | { kind: "call"; camera: string | undefined }
  | { kind: "switch"; camera: string | undefined }
  | { kind: "cameras" }
  | { kind: "hangup" }
  | { kind: "help" }
  | { kind: "status" }
  /** `!ring` alone asks (via undefined); `!ring <word>` chooses, and a word that is no choice is `invalid`. */
  | { kind: "ring"; via: RingVia | undefined; invalid?: string }
  | { kind: "unknown"; word: string };

/** Commands and room events handled outside bot.ts (MatrixRTC: rtc-commands.ts); `true` when handled there. */
export interface BotExtension {
  runCommand(roomId: string, sender: string, command: Command): Promise<boolean>;
  roomEvent(roomId: string, raw: unknown): void;
  /** The other party of the extension's call in the room, if it has one there (the third-member notice). */
  calleeIn?(roomId: string): string | undefined;
  /** Whether the extension has a call in the room, or one whose end is still being sent there. */
  busyIn?(roomId: string): boolean;
  /** The bot left the room or was removed from it (matrix-bot-sdk sends no more of its events). */
  roomLeft?(roomId: string): void;
  /** `!switch <camera>` (a camera the sender may use) of the extension's call in the room; undefined when it has none there. */
  switchCamera?(roomId: string, camera: string, by: string): Promise<"switched" | "no_call" | "not_yours" | "same_camera" | undefined>;
}

const PREFIX = "!";

/** Parses a message body; undefined when it is not a command (does not start with "!"). */
export function parseCommand(body: string): Command | undefined {
  const text = body.trim();
  if (!text.startsWith(PREFIX)) return undefined;
  const [word = "", ...args] = text.slice(PREFIX.length).split(/\s+/);
  switch (word.toLowerCase()) {
    case "call":
      return { kind: "call", camera: args[0]?.toLowerCase() };
    case "switch":
      return { kind: "switch", camera: args[0]?.toLowerCase() };
    case "cameras":
    case "list":
      return { kind: "cameras" };
    case "hangup":
    case "stop":
      return { kind: "hangup" };
    case "help":
      return { kind: "help" };
    case "status":
      return { kind: "status" };
    case "ring": {
      const arg = args[0]?.toLowerCase();
      if (arg === undefined) return { kind: "ring", via: undefined };
      const via = ringViaSchema.safeParse(arg === "rtc" ? "matrixrtc" : arg);
      return via.success ? { kind: "ring", via: via.data } : { kind: "ring", via: undefined, invalid: arg.slice(0, 32) };
    }
    case "":
      return undefined;
    default:
      return { kind: "unknown", word: word.slice(0, 32) };
  }
}

export function helpText(cameras: readonly string[]): string {
  return [
    "Commands:",
    "!call <camera> — ring you with a live video call from the camera",
    "!switch <camera> — show another camera in the call in progress",
    "!cameras — list the cameras",
    "!hangup — end the call",
    "!status — calls, cameras and the bot's health",
    "!ring — how !call rings you; choose with !ring legacy, !ring matrixrtc (Element X) or !ring both",
    "!help — this text",
    `Cameras: ${cameras.join(", ")}`,
  ].join("\n");
}

export function camerasText(cameras: readonly { name: string; description?: string | undefined }[]): string {
  return ["Cameras:", ...cameras.map((c) => (c.description !== undefined ? `• ${c.name} — ${c.description}` : `• ${c.name}`))].join("\n");
}
