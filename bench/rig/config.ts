/**
 * The bot's YAML config for a bench run: one camera per (resolution, index); the first 720p camera once more without
 * audio (to measure what A/V sync costs), once more read by GStreamer (frontEnd: gstreamer; the others by the default,
 * the lean ffmpeg where it is built), and once more with talkback through a command (the talkback phase), and an
 * ONVIF camera with a backchannel. The bench starts calls much faster than a person: the per-user rate limit is
 * lifted and `maxConcurrent` is above the most calls it holds. `idleStopMs: 0` so a camera is really idle for the
 * cold time-to-first-frame figure.
 */
import { fileURLToPath } from "node:url";
import { FPS, type Resolution } from "../plan.ts";

export const NO_AUDIO_CAMERA = "c720-0-noaudio";
/** The first 720p camera read by GStreamer (frontEnd: gstreamer) instead of the default, the lean ffmpeg. */
export const GSTREAMER_CAMERA = "c720-0-gst";
export const TALKBACK_EXEC_CAMERA = "talk-exec";
export const TALKBACK_ONVIF_CAMERA = "talk-onvif";
/** The first 720p camera as a doorbell: a press (webhook or MQTT) rings the viewer (the doorbell phase). */
export const DOORBELL_CAMERA = "door";
/** The webhook's bearer token and the MQTT topic a press is published to (the doorbell phase). */
export const DOORBELL_TOKEN = "bench-doorbell-token-0123456789";
export const DOORBELL_TOPIC = "bench/doorbell";
/** The talkback command: records what reaches its stdin with arrival times (bench/talkback_sink.py). */
export const TALKBACK_SINK = fileURLToPath(new URL("../talkback_sink.py", import.meta.url));
export const TALKBACK_RATE = 8000;

export interface BotConfigInput {
  baseUrl: string;
  viewer: string;
  cameras: ReadonlyMap<string, { port: number; res: Resolution }>;
  firstCamera: string;
  onvifPort: number;
  talkbackFile: string;
  python: string;
  maxCalls: number;
  dataDir: string;
  /** The doorbell's triggers: the bot's HTTP listener and an MQTT broker (only when the doorbell phase runs). */
  doorbell?: { httpPort: number; mqtt: { url: string; username: string; password: string } } | undefined;
  /** The MatrixRTC focus (the token service the matrixrtc phase starts there); calls ring legacy unless `!ring` says otherwise. */
  focusUrl: string;
}

function cameraLines(name: string, port: number, res: Resolution, extra: string[] = []): string[] {
  return [
    `  - name: ${name}`,
    `    url: "rtsp://127.0.0.1:${port}/cam"`,
    `    maxWidth: ${res.width}`,
    `    maxHeight: ${res.height}`,
    `    maxFps: ${FPS}`,
    ...extra,
  ];
}

export function botConfigYaml(c: BotConfigInput): string {
  const lines = ["homeserver:", `  url: ${c.baseUrl}`, "  accessToken: ${BOT_TOKEN}", "allowedUsers:", `  - "${c.viewer}"`, "cameras:"];
  for (const [name, { port, res }] of c.cameras) lines.push(...cameraLines(name, port, res));
  const first = c.cameras.get(c.firstCamera);
  if (first) {
    lines.push(...cameraLines(NO_AUDIO_CAMERA, first.port, first.res, ["    audio: false"]));
    lines.push(...cameraLines(GSTREAMER_CAMERA, first.port, first.res, ["    frontEnd: gstreamer"]));
    lines.push(
      ...cameraLines(TALKBACK_EXEC_CAMERA, first.port, first.res, [
        "    talkback:",
        `      exec: [${JSON.stringify(c.python)}, ${JSON.stringify(TALKBACK_SINK)}, ${JSON.stringify(c.talkbackFile)}]`,
        "      format: s16le",
        `      rate: ${TALKBACK_RATE}`,
      ]),
    );
  }
  const door = c.doorbell;
  // A press rings at once each time (no debounce, no press limit): the bench presses faster than a visitor.
  if (first && door)
    lines.push(
      ...cameraLines(DOORBELL_CAMERA, first.port, first.res, ["    ring:", `      users: ["${c.viewer}"]`, "      debounceMs: 0"]),
    );
  lines.push(`  - name: ${TALKBACK_ONVIF_CAMERA}`, `    url: "rtsp://127.0.0.1:${c.onvifPort}/cam"`, "    talkback: { onvif: true }");
  lines.push("calls:", "  maxPerUserPerMinute: 1000", `  maxConcurrent: ${c.maxCalls + 2}`);
  if (door) {
    lines.push("http:", `  listen: 127.0.0.1:${door.httpPort}`, "triggers:", "  pressLimit: { burst: 100, perMinute: 600 }");
    lines.push("  webhook:", `    token: ${DOORBELL_TOKEN}`, "    rateLimit: { burst: 1000, perMinute: 6000 }");
    lines.push("  mqtt:", `    url: ${door.mqtt.url}`, `    username: ${door.mqtt.username}`, `    password: ${door.mqtt.password}`);
    lines.push("    rules:", `      - { topic: ${DOORBELL_TOPIC}, camera: ${DOORBELL_CAMERA}, payload: "ON" }`);
  }
  lines.push("matrixRtc:", `  livekitServiceUrl: ${c.focusUrl}`);
  lines.push("media:", "  idleStopMs: 0", `dataDir: ${c.dataDir}`, "logLevel: info", "");
  return lines.join("\n");
}
