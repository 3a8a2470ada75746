/**
 * A callee's LiveKit client in a process of its own (test/e2e/matrixrtc-faults.test.ts), so that a test can take
 * it away as a phone's network goes away: SIGSTOP (nothing sent, nothing answered: the SFU has to notice by itself)
 * or SIGKILL. It connects with LK_URL and LK_TOKEN from its environment (the token is a secret: never in argv, which
 * `ps` shows), subscribes like LiveKitSubscriber, and prints one line per event on stdout: "connected", then
 * "frames N" every 25 decoded video frames.
 */
import { loadRtcNode } from "../../src/matrixrtc/rtc-node.ts";
import { LiveKitSubscriber } from "./livekit-subscriber.ts";

const loaded = await loadRtcNode();
if (!loaded.ok) throw new Error(loaded.reason);
const subscriber = new LiveKitSubscriber(loaded.rtc);
await subscriber.connect(process.env["LK_URL"] ?? "", process.env["LK_TOKEN"] ?? "");
process.stdout.write("connected\n");
let told = 0;
setInterval(() => {
  if (subscriber.video.frames - told < 25) return;
  told = subscriber.video.frames;
  process.stdout.write(`frames ${String(told)}\n`);
}, 100);
