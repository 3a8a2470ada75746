/**
 * The secret values of a loaded configuration, registered for redaction by value (util/redact.ts) as soon as the
 * configuration is parsed, before anything can log: the access token and password, the webhook token, the MQTT
 * password and the credentials in its URL, and for each camera URL its user info (whole, user, password), its
 * credential-looking query and path values, and the whole URL (shown as scheme://host:port when printed whole).
 */
import { addSecret, urlCredentials, urlLabel } from "../util/redact.ts";
import type { Config } from "./load.ts";

export function configSecrets(config: Config): { value: string; replacement: string }[] {
  const out: { value: string; replacement: string }[] = [];
  const plain = (value: string | undefined): void => {
    if (value !== undefined && value !== "") out.push({ value, replacement: "***" });
  };
  const url = (value: string | undefined): void => {
    if (value === undefined) return;
    for (const part of urlCredentials(value)) plain(part);
  };
  plain(config.homeserver.accessToken);
  plain(config.homeserver.password);
  url(config.homeserver.url);
  plain(config.triggers.webhook?.token);
  plain(config.triggers.mqtt?.password);
  url(config.triggers.mqtt?.url);
  for (const camera of config.cameras) {
    if (camera.url.startsWith("/") || camera.url.startsWith("demo://")) continue;
    url(camera.url);
    out.push({ value: camera.url, replacement: urlLabel(camera.url) });
  }
  return out;
}

/** Registers every secret value of the configuration for redaction. */
export function registerConfigSecrets(config: Config): void {
  for (const { value, replacement } of configSecrets(config)) addSecret(value, replacement);
}
