/**
 * rtc-node alone, no bot: the process's RSS over Room connects and disconnects to a local livekit-server (the test
 * harness's), after a full GC every 10 rooms. It shows whether the native memory a MatrixRTC call leaves behind is
 * rtc-node's own (livekit/node-sdks#514) or the bot's: run it again when rtc-node is updated.
 *
 *   node --expose-gc --import tsx bench/rtc-node-rooms.ts [--rooms 60] [--mode connect|source|publish] [--dispose]
 *
 * connect: connect and disconnect only; source: a 640×360 VideoSource fed 25 frames between them, not published;
 * publish: the source published as a VP8 track, as the bot's publisher does. --dispose shuts rtc-node's FFI server
 * down (rtc.dispose()) every 5 rooms, with no Room left, and lets the next Room start it again.
 * Run it under the e2e lock, with the launcher's malloc settings (bin/matrix-camera-call) in its environment.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AccessToken } from "livekit-server-sdk";
import { loadRtcNode, releaseRoom } from "../src/matrixrtc/rtc-node.ts";
import { startLiveKit } from "../test/harness/livekit.ts";

const { values } = parseArgs({
  options: { rooms: { type: "string", default: "60" }, mode: { type: "string", default: "publish" }, dispose: { type: "boolean" } },
});
const rooms = Number(values.rooms);
const mode = values.mode;
if (mode !== "connect" && mode !== "source" && mode !== "publish") throw new Error(`--mode connect|source|publish, not ${mode}`);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
const rssKb = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN);

const loaded = await loadRtcNode();
if (!loaded.ok) throw new Error(loaded.reason);
const rtc = loaded.rtc;
const lk = await startLiveKit();
const [width, height] = [640, 360];
const picture = new Uint8Array((width * height * 3) / 2);
const points: { rooms: number; rssKb: number }[] = [];
try {
  for (let i = 1; i <= rooms; i++) {
    const grant = new AccessToken(lk.apiKey, lk.apiSecret, { identity: `publisher${String(i)}` });
    grant.addGrant({ roomJoin: true, room: "rooms", canPublish: true });
    const room = new rtc.Room();
    await room.connect(lk.wsUrl, await grant.toJwt(), { autoSubscribe: false, dynacast: true });
    const source = mode === "connect" ? undefined : new rtc.VideoSource(width, height);
    if (source !== undefined) {
      if (mode === "publish") {
        const track = rtc.LocalVideoTrack.createVideoTrack("camera", source);
        const options = { source: rtc.TrackSource.SOURCE_CAMERA, videoCodec: rtc.VideoCodec.VP8, simulcast: false };
        await room.localParticipant?.publishTrack(track, new rtc.TrackPublishOptions(options));
      }
      for (let f = 0; f < 25; f++) {
        source.captureFrame(new rtc.VideoFrame(picture, width, height, rtc.VideoBufferType.I420));
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    }
    await room.disconnect();
    await source?.close();
    releaseRoom(room);
    if (values.dispose === true && i % 5 === 0) {
      await rtc.dispose();
      delete (globalThis as { _ffiClientInstance?: unknown })._ffiClientInstance;
    }
    if (i % 10 === 0) {
      for (let g = 0; g < 3; g++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      points.push({ rooms: i, rssKb: rssKb() });
      process.stdout.write(`${JSON.stringify({ mode, dispose: values.dispose === true, ...points.at(-1) })}\n`);
    }
  }
} finally {
  await lk.stop();
}
const first = points[0];
const last = points.at(-1);
if (first !== undefined && last !== undefined && last.rooms > first.rooms) {
  process.stdout.write(
    `RSS ${String(Math.round((last.rssKb - first.rssKb) / (last.rooms - first.rooms)))} kB per room (rooms ${String(first.rooms)}→${String(last.rooms)})\n`,
  );
}
process.exit(0);
