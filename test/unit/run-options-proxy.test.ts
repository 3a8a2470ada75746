/**
 * Which runs read the camera through the frame-end proxy (RunOptions, run by run), with the real proxy on loopback,
 * a small RTSP server of the test's own as the camera, and the test's own socket as ffmpeg: a camera that refuses is
 * not the proxy's fault; one that played without a frame out of ffmpeg is, and the next run reads directly; that
 * trial decides whether the proxy stays off; a proxy that kept ffmpeg out is at fault too.
 */
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RunEnd } from "../../src/media/camera-run.ts";
import { RunOptions } from "../../src/media/run-options.ts";
import { createLogger } from "../../src/util/logger.ts";
import { testCamera } from "../harness/cameras.ts";
import { waitFor } from "../harness/wait.ts";

const log = createLogger({ level: "silent" });
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A camera answering each request with `status` (and its CSeq), as a camera would. */
async function cameraAnswering(status: string): Promise<string> {
  const server = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      const cseq = /cseq:\s*(\d+)/i.exec(chunk.toString("latin1"))?.[1] ?? "0";
      socket.write(`RTSP/1.0 ${status}\r\nCSeq: ${cseq}\r\n\r\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  return `rtsp://127.0.0.1:${String((server.address() as AddressInfo).port)}/live`;
}

async function optionsFor(url: string): Promise<RunOptions> {
  const options = new RunOptions(testCamera({ url, frontEnd: "ffmpeg" }), { full: "ffmpeg" }, log);
  cleanups.push(() => {
    options.close();
  });
  await options.prepared();
  return options;
}

/** The next run's camera URL: the proxy's (127.0.0.1 on another port) or the camera's own. */
function nextUrl(options: RunOptions): string {
  const url = options.command().args.find((a) => a.startsWith("rtsp://"));
  if (url === undefined) throw new Error("no camera URL in the command");
  return url;
}

function open(url: string): Socket {
  const u = new URL(url);
  const s = connect({ host: u.hostname, port: Number(u.port) });
  s.on("error", () => undefined);
  cleanups.push(() => s.destroy());
  return s;
}

/** What ffmpeg does up to PLAY, one request after the other's answer, then hangs up (no frame came). */
async function ffmpegRun(url: string, requests: string[]): Promise<void> {
  const s = open(url);
  let answers = 0;
  s.on("data", (c: Buffer) => (answers += c.toString("latin1").split("RTSP/1.0 ").length - 1));
  for (const [i, method] of requests.entries()) {
    s.write(`${method} ${url} RTSP/1.0\r\nCSeq: ${String(i + 1)}\r\n\r\n`);
    await waitFor(`the answer to ${method}`, () => answers > i, { timeoutMs: 5_000 });
  }
  s.destroy();
}

const failed = { exit: { code: 1, signal: null, requested: false, lastLines: [] }, frames: 0 } as unknown as RunEnd;

describe("runs through the frame-end proxy", () => {
  it("a camera that refuses (503) is retried through the proxy: not the proxy's fault", async () => {
    const camera = await cameraAnswering("503 Service Unavailable");
    const options = await optionsFor(camera);
    const url = nextUrl(options);
    expect(url).not.toBe(camera);
    await ffmpegRun(url, ["DESCRIBE"]);
    expect(options.runEnded(0)).toBe(false);
    expect(nextUrl(options)).toBe(url);
  });

  it("a camera that played without a frame out of ffmpeg: a direct trial, then the proxy again when that fails too", async () => {
    const camera = await cameraAnswering("200 OK");
    const options = await optionsFor(camera);
    const url = nextUrl(options);
    await ffmpegRun(url, ["OPTIONS", "PLAY"]);
    expect(options.runEnded(0)).toBe(true);
    options.apply({ kind: "fallback", drop: "proxy" }, failed);
    expect(nextUrl(options)).toBe(camera);
    expect(options.runEnded(0)).toBe(false);
    expect(nextUrl(options)).toBe(url);
  });

  it("a direct trial that shows frames keeps the proxy off for the camera", async () => {
    const camera = await cameraAnswering("200 OK");
    const options = await optionsFor(camera);
    await ffmpegRun(nextUrl(options), ["PLAY"]);
    expect(options.runEnded(0)).toBe(true);
    options.apply({ kind: "fallback", drop: "proxy" }, failed);
    expect(nextUrl(options)).toBe(camera);
    options.framesFlowing();
    expect(options.runEnded(250)).toBe(false);
    expect(nextUrl(options)).toBe(camera);
    expect(nextUrl(options)).toBe(camera);
  });

  it("all the proxy's places held by connections that send no whole request: the run kept out is the proxy's fault", async () => {
    const camera = await cameraAnswering("200 OK");
    const options = await optionsFor(camera);
    const url = nextUrl(options);
    // One byte each: not a request, so none of them is the run's session.
    const holders = Array.from({ length: 4 }, () => open(url));
    for (const h of holders) h.write("O");
    await waitFor("4 connections made", () => holders.every((h) => h.readyState === "open"), { timeoutMs: 5_000 });
    const ffmpeg = open(url);
    await waitFor("the run's connection refused", () => ffmpeg.destroyed || ffmpeg.readyState === "closed", { timeoutMs: 5_000 });
    expect(options.runEnded(0)).toBe(true);
  });
});
