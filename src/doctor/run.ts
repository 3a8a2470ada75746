import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { addSecret } from "../util/redact.ts";
import { ConfigError, loadConfigFile, type Config } from "../config/load.ts";
import { checkTalkback } from "../talkback/onvif/probe.ts";
import {
  checkCamera,
  checkEncryption,
  checkFfmpeg,
  checkLeanFfmpeg,
  checkHomeserver,
  checkMqtt,
  checkToken,
  checkTurn,
  checkWellKnown,
  type CheckResult,
} from "./checks.ts";
import { resolveLeanFfmpeg } from "../media/lean-ffmpeg.ts";
import { checkGstreamer } from "./gstreamer.ts";
import { checkListen } from "./listen.ts";
import { checkRtcFocus } from "./rtc-focus.ts";

/** The token the bot would use: the configured one, else the login it saved in dataDir. */
function tokenOf(config: Config): string | undefined {
  if (config.homeserver.accessToken !== undefined) return config.homeserver.accessToken;
  const saved = path.join(config.dataDir, "login.json");
  if (!existsSync(saved)) return undefined;
  try {
    const parsed = z
      .object({ accessToken: z.string() })
      .loose()
      .safeParse(JSON.parse(readFileSync(saved, "utf8")));
    if (!parsed.success) return undefined;
    addSecret(parsed.data.accessToken);
    return parsed.data.accessToken;
  } catch {
    return undefined; // unreadable saved login: the bot would log in again
  }
}

/** Runs every check of a loaded configuration. */
export async function runChecks(config: Config): Promise<CheckResult[]> {
  const token = tokenOf(config);
  const users = config.allowedUsers.length;
  const detail = `${config.cameras.length} camera(s), ${users} allowed user entr${users === 1 ? "y" : "ies"}`;
  const results: CheckResult[] = [{ name: "configuration", status: "pass", detail }];
  const homeserver = await checkHomeserver(config);
  results.push(homeserver);
  let userId: string | undefined;
  if (homeserver.status === "pass") {
    const who = await checkToken(config, token);
    results.push(who.result);
    userId = who.userId ?? config.homeserver.user;
    if (who.result.status !== "fail") results.push(await checkTurn(config, token));
    results.push(await checkWellKnown(config, userId));
    if (who.result.status !== "fail") results.push(await checkRtcFocus(config, token, userId));
  }
  results.push(checkEncryption());
  const ff = await checkFfmpeg(config);
  results.push(ff.result);
  const leanFound = resolveLeanFfmpeg(config.media.leanFfmpegPath);
  const lean = checkLeanFfmpeg(config, ff.ffmpeg, leanFound);
  if (lean) results.push(lean);
  const gst = await checkGstreamer(config, "path" in leanFound && leanFound.path !== undefined);
  if (gst) results.push(gst);
  for (const camera of config.cameras) results.push(await checkCamera(camera, ff.ffmpeg));
  for (const camera of config.cameras) {
    const talkback = await checkTalkback(camera);
    if (talkback) results.push(talkback);
  }
  const listen = await checkListen(config, userId);
  if (listen) results.push(listen);
  const mqtt = await checkMqtt(config);
  if (mqtt) results.push(mqtt);
  return results;
}

/** Loads the config file and runs the checks; an invalid config is itself the failing check. */
export async function runDoctor(file: string, env: Record<string, string | undefined> = process.env): Promise<CheckResult[]> {
  let config: Config;
  try {
    config = loadConfigFile(file, env);
  } catch (err: unknown) {
    if (err instanceof ConfigError) {
      const detail = err.problems.map((p) => `${p.key}: ${p.message}`).join("; ");
      return [{ name: "configuration", status: "fail", detail, fix: `fix ${file} (see config/config.example.yaml)` }];
    }
    throw err;
  }
  return runChecks(config);
}

const MARK = { pass: "PASS", warn: "WARN", fail: "FAIL" } as const;

export function formatReport(results: readonly CheckResult[]): string {
  const lines = results.map((r) => `${MARK[r.status]}  ${r.name}: ${r.detail}${r.fix !== undefined ? `\n      fix: ${r.fix}` : ""}`);
  const failed = results.filter((r) => r.status === "fail").length;
  const warned = results.filter((r) => r.status === "warn").length;
  const summary =
    failed > 0 ? `${failed} problem(s) to fix, ${warned} warning(s)` : `all good${warned > 0 ? ` (${warned} warning(s))` : ""}`;
  lines.push("", summary);
  return lines.join("\n") + "\n";
}

export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === "fail") ? 1 : 0;
}
