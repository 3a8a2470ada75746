/** Chat commands. Parsing is pure; the bot carries them out. */

export type Command =
  | { kind: "call"; camera: string | undefined }
  | { kind: "switch"; camera: string | undefined }
  | { kind: "cameras" }
  | { kind: "hangup" }
  | { kind: "help" }
  | { kind: "status" }
  | { kind: "unknown"; word: string };

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
    "!help — this text",
    `Cameras: ${cameras.join(", ")}`,
  ].join("\n");
}

export function camerasText(cameras: readonly { name: string; description?: string | undefined }[]): string {
  return ["Cameras:", ...cameras.map((c) => (c.description !== undefined ? `• ${c.name} — ${c.description}` : `• ${c.name}`))].join("\n");
}
