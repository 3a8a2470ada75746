/**
 * What both talkback end-to-end files set up: the bot in-process from a YAML config (its debug log in DIR/bot.log), and
 * matrix-js-sdk callees whose microphones play a tone each (tone-mic.ts), each with a direct chat with the bot.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { startApp, type App } from "../../src/app.ts";
import { loadConfigFile } from "../../src/config/load.ts";
import { startCallee, type Callee, type IncomingCall } from "./callee.ts";
import { openDirectChat } from "./dm.ts";
import type { RegisteredUser, SynapseHandle } from "./synapse.ts";
import { toneDeviceId } from "./tone-mic.ts";

export interface ToneCallee {
  callee: Callee;
  dm: string;
}

export async function startTalkbackRig(opts: {
  synapse: SynapseHandle;
  bot: RegisteredUser;
  dir: string;
  /** The config's `cameras:` entries, one YAML line each, indented as under `cameras:`. */
  cameraLines: readonly string[];
  /** Each callee with the frequency its microphone plays. */
  callees: readonly (readonly [RegisteredUser, number])[];
  cleanups: (() => Promise<unknown>)[];
}): Promise<{ app: App; users: ToneCallee[] }> {
  const configFile = path.join(opts.dir, "config.yaml");
  writeFileSync(
    configFile,
    [
      "homeserver:",
      `  url: ${opts.synapse.baseUrl}`,
      "  accessToken: ${BOT_TOKEN}",
      "allowedUsers:",
      ...opts.callees.map(([user]) => `  - "${user.userId}"`),
      "cameras:",
      ...opts.cameraLines,
      "media:",
      "  idleStopMs: 0",
      `dataDir: ${path.join(opts.dir, "data")}`,
      "logLevel: debug",
      "",
    ].join("\n"),
  );
  const config = loadConfigFile(configFile, { ...process.env, BOT_TOKEN: opts.bot.accessToken });
  const app = await startApp(config, { log: pino({ level: "debug" }, pino.destination({ dest: path.join(opts.dir, "bot.log"), sync: true })) });
  opts.cleanups.push(() => app.stop());
  const users: ToneCallee[] = [];
  for (const [user, hz] of opts.callees) {
    const callee = await startCallee({ ...user, baseUrl: opts.synapse.baseUrl, autoJoin: true });
    callee.client.getMediaHandler().restoreMediaSettings(toneDeviceId(hz), undefined as unknown as string);
    opts.cleanups.push(() => callee.stop());
    users.push({ callee, dm: await openDirectChat(callee.client, opts.bot.userId) });
  }
  return { app, users };
}

/** `!call CAMERA` from the callee's direct chat; resolves with the ringing call (not answered). */
export async function ringByCommand(user: ToneCallee | undefined, camera: string): Promise<IncomingCall> {
  if (user === undefined) throw new Error("no such callee");
  const ringing = user.callee.nextIncomingCall(20_000);
  await user.callee.client.sendTextMessage(user.dm, `!call ${camera}`);
  return ringing;
}
