/**
 * A MatrixRTC callee's join → first frame through LiveKit alone, no Matrix: the bot's LiveKitPublisher (in this
 * process) publishes the RTSP test camera (720p25, warm) into a room of a local livekit-server, and a second rtc-node
 * participant joins it `--delays` ms after the publisher's start resolved, or, for a negative delay, that many ms
 * after the publisher's start began (racing its connect, as the bench's callee that joins on the ring does). One
 * line per join: ms from the joiner's start to its connect, to the video track subscribed and to its first decoded
 * frame, and when the publisher's video was published on the same clock (docs/benchmark.md, "The MatrixRTC first
 * picture after an instant join").
 *
 *   npx tsx bench/livekit-join.ts [--delays -1,-200,400] [--rounds 3]
 *
 * Run it under the e2e lock, on an otherwise idle machine.
 */
import { parseArgs } from "node:util";
import { pino } from "pino";
import { AccessToken } from "livekit-server-sdk";
import { LiveKitPublisher } from "../src/matrixrtc/livekit-publisher.ts";
import { loadRtcNode } from "../src/matrixrtc/rtc-node.ts";
import { startLiveKit } from "../test/harness/livekit.ts";
import { oneCameraHub } from "../test/harness/one-camera-hub.ts";
import { startRtspCamera } from "../test/harness/rtsp-camera.ts";
import { waitFor } from "../test/harness/wait.ts";

const { values } = parseArgs({ options: { delays: { type: "string", default: "-1,-200,400" }, rounds: { type: "string", default: "3" } } });
const delays = values.delays.split(",").map(Number);
const rounds = Number(values.rounds);
if (delays.some((d) => !Number.isFinite(d)) || !(rounds > 0)) throw new Error("--delays ms,ms,… and --rounds N");

const log = pino({ level: "silent" });
const loaded = await loadRtcNode();
if (!loaded.ok) throw new Error(loaded.reason);
const rtc = loaded.rtc;
const lk = await startLiveKit();
const cam = await startRtspCamera({ width: 1280, height: 720, fps: 25, audio: "pcma", pattern: "ball", speed: 5 });
const hub = oneCameraHub(cam.url, log);
const warm = hub.acquire("cam");
await waitFor("the camera's first frame", () => hub.stats()["cam"]?.state === "running", { timeoutMs: 20_000 });

async function token(identity: string, room: string): Promise<string> {
  const at = new AccessToken(lk.apiKey, lk.apiSecret, { identity, ttl: "10m" });
  at.addGrant({ room, roomJoin: true, canPublish: true, canSubscribe: true });
  return at.toJwt();
}

let n = 0;
for (let round = 0; round < rounds; round++)
  for (const delay of delays) {
    const room = `join-${String(++n)}`;
    const publisherToken = await token("publisher", room);
    const joinerToken = await token(`joiner-${String(n)}`, room);
    const publisher = new LiveKitPublisher(rtc, hub.acquire("cam"), log);
    const at: Record<string, number> = {};
    const publishStart = performance.now();
    const starting = publisher.start(lk.wsUrl, publisherToken);
    publisher.once("videoPublished", () => (at["videoPublished"] = performance.now()));
    if (delay >= 0) await starting;
    await new Promise((resolve) => setTimeout(resolve, Math.abs(delay)));
    const joiner = new rtc.Room();
    const joinStart = performance.now();
    joiner.on(rtc.RoomEvent.TrackSubscribed, (track) => {
      if (track.kind !== rtc.TrackKind.KIND_VIDEO) return;
      at["subscribed"] = performance.now();
      void (async () => {
        const reader = new rtc.VideoStream(track).getReader();
        const next = await reader.read();
        if (!next.done) at["firstFrame"] = performance.now();
        await reader.cancel();
      })();
    });
    await joiner.connect(lk.wsUrl, joinerToken, { autoSubscribe: true, dynacast: true });
    at["connected"] = performance.now();
    await waitFor("the joiner's first frame", () => at["firstFrame"] !== undefined, { timeoutMs: 20_000, intervalMs: 2 });
    await starting;
    const rel = (t: number | undefined): number | undefined => (t === undefined ? undefined : Math.round(t - joinStart));
    const line = {
      delay,
      publisherStartedAt: rel(publishStart),
      videoPublished: rel(at["videoPublished"]),
      connected: rel(at["connected"]),
      subscribed: rel(at["subscribed"]),
      firstFrame: rel(at["firstFrame"]),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    await joiner.disconnect();
    await publisher.stop();
  }
warm.release();
await hub.stopAll();
await cam.stop();
await lk.stop();
process.exit(0);
