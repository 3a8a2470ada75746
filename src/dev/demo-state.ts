/**
 * The demo's saved state (data/demo/demo-state.json): the bot's and the person's accounts (passwords and tokens)
 * and the direct chat, so that a second run reuses them. Parsed with zod on the way in, written whole and readable
 * by the owner only on the way out. Apart from demo.ts because it is the demo's one file format, and tests read it.
 * Also the demo's error type, which the format's checks are the first to throw.
 */
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

/** A problem the person can fix; the message says how. */
export class DemoError extends Error {
  override name = "DemoError";
}

const accountSchema = z.object({
  userId: z.string(),
  password: z.string().min(1),
  accessToken: z.string(),
  deviceId: z.string(),
});
export type Account = z.infer<typeof accountSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  bot: accountSchema,
  user: accountSchema,
  roomId: z.string().optional(),
});
export type DemoState = z.infer<typeof stateSchema>;

export const STATE_FILE = "demo-state.json";

export function readState(file: string): DemoState | undefined {
  if (!existsSync(file)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err: unknown) {
    throw new DemoError(
      `${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}): delete ${path.dirname(file)} to start over`,
    );
  }
  const parsed = stateSchema.safeParse(json);
  if (!parsed.success)
    throw new DemoError(`${file} is not a demo state this version understands: delete ${path.dirname(file)} to start over`);
  return parsed.data;
}

/** Written whole (temporary file, then rename), readable by the owner only: it holds passwords and tokens. */
export function writeState(file: string, state: DemoState): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The demo's state file, for tests and tools: the saved accounts and chat. */
export async function readDemoState(dataDir: string): Promise<DemoState> {
  return stateSchema.parse(JSON.parse(await readFile(path.join(path.resolve(dataDir), STATE_FILE), "utf8")));
}
