/**
 * Registering users on the local Synapse through its shared-secret admin API (/_synapse/admin/v1/register: a nonce,
 * then an HMAC-SHA1 over nonce, name, password and admin flag), and logging one in for a new device. Apart from the
 * process lifecycle because it only needs the base URL and the secret, and it is the one place that secret is used.
 */
import { createHmac, randomBytes } from "node:crypto";
import { z } from "zod";
import { matrixRequest, passwordLogin } from "./matrix-http.ts";

const nonceSchema = z.object({ nonce: z.string() }).loose();
const registeredSchema = z.object({ user_id: z.string() }).loose();

export interface RegisteredUser {
  userId: string;
  accessToken: string;
  deviceId: string;
  password: string;
  localpart: string;
}

/** Registers a user through the shared-secret admin API (no login, no device). */
export async function registerWithSharedSecret(
  baseUrl: string,
  sharedSecret: string,
  localpart: string,
  userOpts: { password?: string; admin?: boolean } = {},
): Promise<{ userId: string; localpart: string; password: string }> {
  const password = userOpts.password ?? randomBytes(12).toString("hex");
  const admin = userOpts.admin ?? false;
  const registerPath = "/_synapse/admin/v1/register";
  const { nonce } = await matrixRequest(baseUrl, registerPath, nonceSchema, "register nonce");
  const mac = createHmac("sha1", sharedSecret)
    .update(`${nonce}\0${localpart}\0${password}\0${admin ? "admin" : "notadmin"}`)
    .digest("hex");
  const registered = await matrixRequest(baseUrl, registerPath, registeredSchema, `register ${localpart}`, {
    body: { nonce, username: localpart, password, admin, mac },
  });
  return { userId: registered.user_id, localpart, password };
}

/** Registers a user, then logs in with the password (a new device). */
export async function registerAndLogin(
  baseUrl: string,
  sharedSecret: string,
  localpart: string,
  userOpts: { password?: string; admin?: boolean; deviceName?: string } = {},
): Promise<RegisteredUser> {
  const registerOpts: { password?: string; admin?: boolean } = {};
  if (userOpts.password !== undefined) registerOpts.password = userOpts.password;
  if (userOpts.admin !== undefined) registerOpts.admin = userOpts.admin;
  const user = await registerWithSharedSecret(baseUrl, sharedSecret, localpart, registerOpts);
  const login = await passwordLogin(baseUrl, localpart, user.password, userOpts.deviceName ?? "matrix-camera-call test");
  return { ...user, accessToken: login.accessToken, deviceId: login.deviceId };
}
