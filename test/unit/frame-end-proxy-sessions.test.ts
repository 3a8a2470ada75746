/**
 * The frame-end proxy's connections on real loopback sockets, with a small RTSP server of the test's own as the
 * camera: what the camera last sent before closing reaches ffmpeg whole, a connection that never asks is closed and
 * its place freed, and the proxy stops listening when the bot stops.
 */
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FrameEndProxy } from "../../src/media/frame-end-proxy.ts";
import { RunOptions } from "../../src/media/run-options.ts";
import { createLogger } from "../../src/util/logger.ts";
import { testCamera } from "../harness/cameras.ts";
import { waitFor } from "../harness/wait.ts";

const log = createLogger({ level: "silent" });
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function camera(onRequest: (socket: Socket) => void): Promise<string> {
  const server: Server = createServer((socket) => {
    socket.on("error", () => undefined);
    socket.once("data", () => {
      onRequest(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  return `rtsp://127.0.0.1:${String((server.address() as AddressInfo).port)}/live`;
}

async function proxyFor(url: string): Promise<{ proxy: FrameEndProxy; port: number }> {
  const proxy = new FrameEndProxy(url, log);
  cleanups.push(() => {
    proxy.close();
  });
  await proxy.listening;
  return { proxy, port: Number(new URL(proxy.url() ?? "").port) };
}

/** A connection to the proxy, with everything it received and whether it was closed. */
function client(port: number): { socket: Socket; got: () => Buffer; closed: () => boolean } {
  const socket = connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("close", () => (closed = true));
  socket.on("error", () => undefined);
  cleanups.push(() => socket.destroy());
  return { socket, got: () => Buffer.concat(chunks), closed: () => closed };
}

describe("the frame-end proxy's connections", () => {
  it("hands a slow ffmpeg all the camera sent, up to the camera's close (backpressure both ways, nothing cut at the end)", async () => {
    // 8 MB of interleaved frames and the camera closes: ffmpeg reads none of it until the camera has more queued
    // than the sockets between take, so the last bytes are in the proxy's queue when the camera's close comes.
    const frame = Buffer.concat([Buffer.from([0x24, 5, 0xea, 0x60]), Buffer.alloc(60_000, 7)]);
    const all = Buffer.concat(Array.from({ length: 140 }, () => frame));
    let cameraSide: Socket | undefined;
    const { port } = await proxyFor(
      await camera((socket) => {
        cameraSide = socket;
        socket.end(all);
      }),
    );
    const c = client(port);
    c.socket.pause();
    c.socket.write("PLAY rtsp://127.0.0.1/live RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    await waitFor("the camera held up by a slow reader", () => (cameraSide?.writableLength ?? 0) > 0, { timeoutMs: 10_000 });
    c.socket.resume();
    await waitFor("the proxy to close the connection", c.closed, { timeoutMs: 10_000 });
    expect(c.got().length).toBe(all.length);
  });

  it("closes a connection that sends no request, freeing its place for ffmpeg", async () => {
    const { port } = await proxyFor(await camera((socket) => socket.write("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n")));
    // The proxy holds 4 sessions: 4 silent ones fill it, and a fifth is refused at once.
    const silent = [client(port), client(port), client(port), client(port)];
    await waitFor("4 connections made", () => silent.every((s) => s.socket.readyState === "open"), { timeoutMs: 5_000 });
    const refused = client(port);
    await waitFor("the fifth refused", refused.closed, { timeoutMs: 5_000 });
    expect(silent.some((s) => s.closed())).toBe(false);
    await waitFor("the silent ones closed after 5 s", () => silent.every((s) => s.closed()), { timeoutMs: 15_000 });
    const ffmpeg = client(port);
    ffmpeg.socket.write("OPTIONS rtsp://127.0.0.1/live RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    await waitFor("the camera's answer", () => ffmpeg.got().toString("latin1").startsWith("RTSP/1.0 200 OK"), { timeoutMs: 5_000 });
  });

  it("stops listening when the camera's options are closed (the bot's shutdown)", async () => {
    const cameraUrl = await camera(() => undefined);
    const options = new RunOptions(testCamera({ url: cameraUrl, frontEnd: "ffmpeg" }), { full: "ffmpeg" }, log);
    cleanups.push(() => {
      options.close();
    });
    await options.prepared();
    const url = options.command().args.find((a) => a.startsWith("rtsp://127.0.0.1:"));
    const port = Number(new URL(url ?? "").port);
    expect(port).not.toBe(Number(new URL(cameraUrl).port));
    const before = client(port);
    await waitFor("a connection to the proxy", () => before.socket.readyState === "open", { timeoutMs: 5_000 });
    options.close();
    await waitFor("its session closed", before.closed, { timeoutMs: 5_000 });
    const after = client(port);
    const refused = await new Promise<boolean>((resolve) => {
      after.socket.once("error", () => {
        resolve(true);
      });
      after.socket.once("connect", () => {
        resolve(false);
      });
    });
    expect(refused).toBe(true);
  });
});
