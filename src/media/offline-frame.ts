import { spawn } from "node:child_process";
import { childEnv } from "./child-env.ts";

/** The offline picture's background: RGB grey 0x28, which is luma 50 in limited-range BT.601 I420. */
const OFFLINE_GREY = "0x282828";
export const OFFLINE_LUMA = 50;

/** A plain dark-grey I420 frame, used when ffmpeg cannot draw the text. */
export function plainFrame(width: number, height: number): Uint8Array {
  const frame = new Uint8Array((width * height * 3) / 2);
  frame.fill(OFFLINE_LUMA, 0, width * height);
  frame.fill(0x80, width * height);
  return frame;
}

/**
 * Renders the "camera offline" picture once as an I420 frame of the given size: dark grey with a
 * line of text. Uses ffmpeg's drawtext (one short process, ended by its own output or a timeout);
 * falls back to the plain frame when that fails (e.g. no fonts).
 */
export function renderOfflineFrame(
  ffmpegPath: string,
  width: number,
  height: number,
  text = "Camera offline - reconnecting",
): Promise<Uint8Array> {
  const size = (width * height * 3) / 2;
  const fontsize = Math.max(12, Math.round(height / 16));
  const filter = `drawtext=text='${text.replace(/[^A-Za-z0-9 .-]/g, "")}':fontcolor=white:fontsize=${fontsize}:x=(w-text_w)/2:y=(h-text_h)/2`;
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "lavfi",
    "-i",
    `color=c=${OFFLINE_GREY}:s=${width}x${height}:d=1`,
    "-vf",
    filter,
    "-frames:v",
    "1",
    "-pix_fmt",
    "yuv420p",
    "-f",
    "rawvideo",
    "pipe:1",
  ];
  return new Promise((resolve) => {
    const child = spawn(ffmpegPath, args, { stdio: ["ignore", "pipe", "ignore"], shell: false, env: childEnv() });
    const out = Buffer.alloc(size);
    let filled = 0;
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.stdout.on("data", (chunk: Buffer) => {
      const n = Math.min(chunk.length, size - filled);
      chunk.copy(out, filled, 0, n);
      filled += n;
    });
    child.once("error", () => {
      clearTimeout(timer);
      resolve(plainFrame(width, height));
    });
    child.once("close", () => {
      clearTimeout(timer);
      resolve(filled === size ? new Uint8Array(out.buffer, out.byteOffset, size) : plainFrame(width, height));
    });
  });
}
