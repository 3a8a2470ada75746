/**
 * doctor's check of the MQTT broker the doorbell triggers use (triggers.mqtt): the broker accepts the bot's
 * connection with the configured user and password within the check timeout. Skipped (undefined) when no MQTT
 * trigger is configured. The HTTP listener, the other network endpoint of the bot, is checked in listen.ts.
 */
import { connect } from "mqtt";
import type { Config } from "../config/load.ts";
import { errorMessage, redactUrl } from "../util/logger.ts";
import { TIMEOUT_MS, type CheckResult } from "./result.ts";

/** The MQTT broker of the doorbell triggers accepts the bot's connection. */
export async function checkMqtt(config: Config): Promise<CheckResult | undefined> {
  const mqtt = config.triggers.mqtt;
  if (mqtt === undefined) return undefined;
  const name = "MQTT broker";
  const broker = redactUrl(mqtt.url);
  const started = Date.now();
  return new Promise((resolve) => {
    const client = connect(mqtt.url, {
      clientId: `matrix-camera-call-doctor-${process.pid}`,
      connectTimeout: TIMEOUT_MS,
      reconnectPeriod: 0,
      ...(mqtt.username !== undefined ? { username: mqtt.username } : {}),
      ...(mqtt.password !== undefined ? { password: mqtt.password } : {}),
    });
    const finish = (result: CheckResult): void => {
      clearTimeout(timer);
      client.end(true);
      resolve(result);
    };
    const timer = setTimeout(() => {
      const fix = "check triggers.mqtt.url and that the broker runs and is reachable";
      finish({ name, status: "fail", detail: `${broker}: no answer within ${TIMEOUT_MS} ms`, fix });
    }, TIMEOUT_MS);
    client.once("connect", () => {
      finish({ name, status: "pass", detail: `${broker} accepted the connection in ${Date.now() - started} ms` });
    });
    client.once("error", (err) => {
      const fix = "check triggers.mqtt.url, username and password (the broker refused or cannot be reached)";
      finish({ name, status: "fail", detail: `${broker}: ${errorMessage(err)}`, fix });
    });
  });
}
