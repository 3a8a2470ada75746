/**
 * How `!call` rings each user: legacy m.call.* (Element Web/Desktop), MatrixRTC (Element X), or both. The config
 * gives a default for everyone (`matrixRtc.ringVia`) and per user (`matrixRtc.ringViaUsers`); a user's own
 * `!ring` choice wins over both and is kept across restarts in `dataDir/ring-choices.json`.
 *
 * The file is outside input (it may be edited, truncated by a full disk, or from another version): it is parsed
 * with zod on load, and a broken file is one log line and the config's choices, never a crash. It is written
 * whole (a temporary file, then rename), so a crash mid-write leaves the old file, not half a new one.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ringViaSchema, type RingVia } from "../config/schema.ts";
import { errorMessage, type Logger } from "../util/logger.ts";

const FILE = "ring-choices.json";

const fileSchema = z.object({ version: z.literal(1), users: z.record(z.string().max(255), ringViaSchema) });

export interface RingChoiceConfig {
  readonly ringVia: RingVia;
  readonly ringViaUsers: Readonly<Record<string, RingVia>>;
}

export class RingChoices {
  private readonly chosen = new Map<string, RingVia>();
  private readonly file: string;

  constructor(
    dataDir: string,
    private readonly config: RingChoiceConfig,
    private readonly log: Logger,
  ) {
    this.file = path.join(dataDir, FILE);
    this.load();
  }

  /** The user's own choice, else the config's for them, else the config's default. */
  for(userId: string): RingVia {
    return this.chosen.get(userId) ?? this.config.ringViaUsers[userId] ?? this.config.ringVia;
  }

  /** Whether the user chose with `!ring` (rather than the config choosing for them). */
  isOwnChoice(userId: string): boolean {
    return this.chosen.has(userId);
  }

  /** The user's `!ring` choice, kept at once; a failed write is logged and the choice holds until a restart. */
  set(userId: string, via: RingVia): void {
    this.chosen.set(userId, via);
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${String(process.pid)}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: 1, users: Object.fromEntries(this.chosen) }, null, 2) + "\n", { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (err: unknown) {
      this.log.warn({ file: this.file, err: errorMessage(err) }, "could not keep the ring choices; they hold until a restart");
    }
  }

  private load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err: unknown) {
      if ((err as { code?: unknown }).code !== "ENOENT")
        this.log.warn({ file: this.file, err: errorMessage(err) }, "cannot read the ring choices; using the config's");
      return;
    }
    let parsed: z.ZodSafeParseResult<z.infer<typeof fileSchema>>;
    try {
      parsed = fileSchema.safeParse(JSON.parse(text));
    } catch {
      this.log.warn({ file: this.file }, "the ring choices file is not JSON; using the config's choices");
      return;
    }
    if (!parsed.success) {
      this.log.warn(
        { file: this.file, err: parsed.error.issues[0]?.message },
        "the ring choices file is malformed; using the config's choices",
      );
      return;
    }
    for (const [user, via] of Object.entries(parsed.data.users)) this.chosen.set(user, via);
  }
}

/** What `!ring` alone says. */
export function ringChoiceText(via: RingVia, own: boolean): string {
  const how = {
    legacy: "legacy calls (Element Web, Element Desktop)",
    matrixrtc: "MatrixRTC calls (Element X, Element Call)",
    both: "both at once: legacy and MatrixRTC; the first answer wins",
  }[via];
  return `!call rings you with ${how}${own ? "" : " (the bot's setting)"}. Change it with !ring legacy, !ring matrixrtc or !ring both.`;
}
