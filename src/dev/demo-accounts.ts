/**
 * The demo's two accounts (the bot and the person) on the local homeserver: the saved token when it still works,
 * else a password login, else the account registered again with the saved password (a new homeserver database).
 * Apart from demo.ts because this is the part that talks to the homeserver's login and admin APIs.
 */
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Logger } from "../util/logger.ts";
import { DemoError, STATE_FILE, type Account } from "./demo-state.ts";
import type { LocalSynapse } from "./local-synapse.ts";
import { isErrcode, passwordLogin, whoami } from "./matrix-http.ts";

export const DEVICE_NAME = "matrix-camera-call demo";

/** Typable in a login form; 16 characters, about 96 bits. */
function generatePassword(): string {
  return randomBytes(12).toString("base64url");
}

/**
 * An account that can be used now: the saved token if the homeserver still knows it, else a password login,
 * else (a new homeserver database) the account registered again with the saved password.
 */
export async function ensureAccount(
  synapse: LocalSynapse,
  localpart: string,
  saved: Account | undefined,
  log: Logger,
): Promise<{ account: Account; renewed: boolean; registered: boolean }> {
  const url = synapse.baseUrl;
  if (saved !== undefined) {
    const who = await whoami(url, saved.accessToken);
    if (who?.userId === saved.userId) return { account: saved, renewed: false, registered: false };
    try {
      const login = await passwordLogin(url, saved.userId, saved.password, DEVICE_NAME);
      log.info({ userId: saved.userId }, "demo: the saved token is no longer valid; logged in again");
      return { account: { ...saved, accessToken: login.accessToken, deviceId: login.deviceId }, renewed: true, registered: false };
    } catch (err: unknown) {
      if (!isErrcode(err, "M_FORBIDDEN")) throw err;
    }
  }
  const password = saved?.password ?? generatePassword();
  let userId: string;
  try {
    userId = (await synapse.register(localpart, { password })).userId;
  } catch (err: unknown) {
    if (isErrcode(err, "M_USER_IN_USE")) {
      throw new DemoError(
        `@${localpart}:${synapse.serverName} already exists on the homeserver in ${synapse.dataDir}, but its password is not saved ` +
          `in ${STATE_FILE}: delete ${path.dirname(synapse.dataDir)} to start over`,
      );
    }
    throw err;
  }
  const login = await passwordLogin(url, userId, password, DEVICE_NAME);
  log.info({ userId }, "demo: account registered");
  return { account: { userId, password, accessToken: login.accessToken, deviceId: login.deviceId }, renewed: true, registered: true };
}
