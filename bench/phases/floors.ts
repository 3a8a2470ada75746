/**
 * The floors the bot's figures are read against: camera → a low-latency GStreamer client (bench/stamp_probe.py, no
 * ffmpeg); our camera ffmpeg (buildCameraArgs) alone with its pipes drained, the stamp read at its output; and wrtc
 * encoding that ffmpeg's 720p25 frames of the camera into 0, 1, 2 peer connections (the CPU of one VP8 encode of
 * the picture the calls encode).
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ProcGroup } from "../../test/harness/proc-stats.ts";
import { waitFor } from "../../test/harness/wait.ts";
import { localSenders } from "../measure/webrtc.ts";
import { measureWindow } from "../measure/window.ts";
import { FedSource, startDecodeFloor, type DecodeFloorRun } from "../pipelines.ts";
import { openPlainLink, type PlainLink } from "../plain-link.ts";
import { FPS, R720, type Resolution } from "../plan.ts";
import { cameraName } from "../rig/cameras.ts";
import { PYTHON } from "../rig/rig.ts";
import { summarizeLatency } from "../stats.ts";
import type { Phase, PhaseContext } from "./phase.ts";
import { settle } from "./settle.ts";
import { withoutLauncherEnv } from "../../test/harness/rig-env.ts";

const PROBE_SCRIPT = fileURLToPath(new URL("../stamp_probe.py", import.meta.url));

interface ProbeResult {
  frames: number;
  misreads: number;
  latencies: number[];
}

function isProbeResult(x: unknown): x is ProbeResult {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    typeof r["frames"] === "number" &&
    typeof r["misreads"] === "number" &&
    Array.isArray(r["latencies"]) &&
    r["latencies"].every((v) => typeof v === "number")
  );
}

/** bench/stamp_probe.py: a GStreamer RTSP client reading the stamps (the camera side of the latency, without ffmpeg). */
function cameraProbe(url: string, res: Resolution, seconds: number): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      PYTHON,
      [
        PROBE_SCRIPT,
        "--url",
        url,
        "--width",
        String(res.width),
        "--height",
        String(res.height),
        "--seconds",
        String(seconds),
        "--warmup",
        "2",
      ],
      { stdio: ["ignore", "pipe", "ignore"], env: withoutLauncherEnv() },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
    child.once("close", () => {
      clearTimeout(timer);
      let parsed: unknown;
      try {
        parsed = JSON.parse(out);
      } catch {
        parsed = undefined;
      }
      if (isProbeResult(parsed)) resolve(parsed);
      else reject(new Error(`stamp_probe.py gave no result: ${out.slice(0, 200)}`));
    });
  });
}

/**
 * The floor's ffmpeg on the camera, once it has delivered a frame; started once more when none came in 20 s. An
 * ffmpeg client of the rig's GStreamer server now and then gets no frame at all, nothing on its stderr (the full
 * runs of 2026-12-02 06:50 and 07:35 at the 1080p decode floor, `--only floors` twice in five at the encode floor,
 * a reference call on 2026-12-01): the rig's, not the bot's, whose front ends restart a camera that sends nothing.
 */
async function floorRun(
  ctx: PhaseContext,
  url: string,
  res: Resolution,
  onFrame?: Parameters<typeof startDecodeFloor>[3],
): Promise<DecodeFloorRun> {
  for (let attempt = 1; ; attempt++) {
    const run = startDecodeFloor(ctx.rig.app.ffmpeg.path, url, { width: res.width, height: res.height, fps: FPS }, onFrame);
    try {
      await waitFor("the floor ffmpeg's first frame", () => run.at.length > 0, { timeoutMs: 20_000 });
      return run;
    } catch (err: unknown) {
      await run.stop();
      if (attempt >= 2) throw err;
      ctx.say(`floor: ${res.name} ffmpeg got no frame in 20 s; starting it once more`);
    }
  }
}

async function decodeFloors(ctx: PhaseContext, res: Resolution): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const cam = await rig.cameras.start(cameraName(res, 0));
  say(`floor: camera → GStreamer RTSP client (low-latency decode), ${res.name}, ${plan.floorWindowS} s`);
  const probe = await cameraProbe(cam.url, res, plan.floorWindowS);
  const probeFps = probe.frames / plan.floorWindowS;
  results.windows.push({
    name: `floor: camera → GStreamer client decode ${res.name} (bench/stamp_probe.py)`,
    kind: "camera-floor",
    resolution: res.name,
    calls: 0,
    cameras: 1,
    windowS: plan.floorWindowS,
    delivered: [`${res.width}x${res.height}`],
    fps: { min: probeFps, mean: probeFps, perCall: [probeFps] },
    latency: { ...summarizeLatency(probe.latencies), misreads: probe.misreads },
    cpu: {},
    rssMB: {},
    processes: {},
  });
  const run = await floorRun(ctx, cam.url, res);
  const stopRun = rig.own("decode floor", () => run.stop());
  await waitFor("the decode floor at full rate", () => run.at.filter((at) => at > Date.now() - 1000).length >= 0.9 * FPS, {
    timeoutMs: plan.settleMs,
  }).catch(() => undefined);
  say(`floor: our ffmpeg decoding ${res.name} alone, ${plan.floorWindowS} s`);
  const floorGroup: ProcGroup = { name: "floorFfmpeg", pids: () => (run.pid !== undefined ? [run.pid] : []) };
  const w = await measureWindow(
    rig,
    {
      name: `floor: our ffmpeg decode ${res.name} (pipe drained, stamp read at its output)`,
      kind: "decode-floor",
      resolution: res.name,
      calls: 0,
      cameras: 1,
    },
    [],
    plan.floorWindowS,
    { extraGroups: [floorGroup] },
  );
  const t1 = Date.now();
  const t0 = t1 - w.windowS * 1000;
  const lat: number[] = [];
  for (let i = 0; i < run.at.length; i++) {
    const at = run.at[i] ?? 0;
    if (at >= t0 && at <= t1) lat.push(run.latencies[i] ?? Number.NaN);
  }
  const fps = lat.length / w.windowS;
  results.windows.push({
    ...w,
    delivered: [`${res.width}x${res.height}`],
    fps: { min: fps, mean: fps, perCall: [fps] },
    latency: summarizeLatency(lat),
  });
  await stopRun();
}

async function encodeFloor(ctx: PhaseContext): Promise<void> {
  const { rig, plan, results, say } = ctx;
  const cam = await rig.cameras.start(cameraName(R720, 0));
  const src = new FedSource();
  const run = await floorRun(ctx, cam.url, R720, (frame) => {
    src.push(frame);
  }).catch((err: unknown) => {
    src.stop();
    throw err;
  });
  const stopRun = rig.own("encode floor's camera ffmpeg", async () => {
    await run.stop();
    src.stop();
  });
  const links: PlainLink[] = [];
  for (const k of plan.encodeK) {
    while (links.length < k) {
      const link = await openPlainLink(rig.receiver, src.createTrack(), "enc", { botBitrate: true });
      links.push(link);
      rig.own("plain link", () => {
        link.close();
      });
      await waitFor("the encode floor's first frame", () => rig.receiver.streams.get(link.key)?.firstFrameAt !== undefined, {
        timeoutMs: 20_000,
      });
    }
    await settle(
      ctx,
      links.map((l) => l.key),
    );
    say(`floor: wrtc encoding the camera's 720p25 picture into ${k} peer connection(s), ${plan.floorWindowS} s`);
    results.windows.push(
      await measureWindow(
        rig,
        {
          name: `floor: wrtc encode of the camera's 720p25, ${k} PC(s)`,
          kind: "encode-floor",
          resolution: R720.name,
          calls: k,
          cameras: 1,
        },
        links.map((l) => l.key),
        plan.floorWindowS,
        {
          senders: localSenders(() => links.map((l) => l.pc)),
        },
      ),
    );
  }
  await stopRun();
}

export const floorsPhase: Phase = {
  name: "floors",
  about: "camera → GStreamer client, our ffmpeg alone, wrtc VP8 encode of the camera's 720p25 (CPU per encode)",
  byDefault: true,
  async run(ctx) {
    for (const res of ctx.plan.decodeFloors) await decodeFloors(ctx, res);
    await encodeFloor(ctx);
  },
};
