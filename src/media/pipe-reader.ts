import net from "node:net";
import type { Readable } from "node:stream";

/**
 * The read buffer. libuv makes a child's pipe a socket pair, whose reads here were up to 134 KiB (ffmpeg writing 720p
 * I420 as fast as it could: 4801 reads, 57 KB on average, 137216 bytes at most); 256 KiB takes any of them whole.
 */
export const PIPE_READ_BYTES = 256 * 1024;

/**
 * Reads a child's output pipe into one buffer, reused for every read, instead of Node's new 64 KiB Buffer per read.
 *
 * Why: a 720p25 camera's raw frames are 35 MB/s, ~540 Buffers a second that live until V8 collects them, and V8 lets
 * such external memory grow to about 64 MB before it does. Measured with ffmpeg writing 1280×720 I420 at 25 fps into
 * a Node 24 process under the launcher's malloc settings: RSS 128–129 MB reading with 'data' events (35 MB of
 * ArrayBuffers alive), 61 MB with this (2 MB). Per camera, on top of the calls.
 *
 * `onChunk` gets a view of the shared buffer, valid only during the call: the next read overwrites it.
 * Node has no public way to pass a read buffer to a child's pipe (`onread` exists only for sockets it constructs),
 * so the pipe's handle is moved to a socket made with `onread`, as child_process itself wraps the handle. The old
 * socket is destroyed without its handle (so the child's 'close' event still comes, though it no longer waits for the
 * video pipe's end). Call it in the tick the child was spawned in. When the stream is not such a socket, or was read
 * from already, the 'data' events are used.
 */
export function readPipeIntoOneBuffer(
  stream: Readable,
  onChunk: (chunk: Buffer) => void,
  onError: (err: Error) => void,
  bytes = PIPE_READ_BYTES,
): Readable {
  const held = stream as Readable & { _handle?: unknown };
  const handle = held._handle;
  // Only a socket nobody has read from: bytes it already holds would be lost with it.
  const untouched = stream.readableLength === 0 && stream.listenerCount("data") === 0 && !stream.readableFlowing;
  if (!(stream instanceof net.Socket) || handle === null || typeof handle !== "object" || !untouched) {
    stream.on("data", onChunk);
    stream.on("error", onError);
    return stream;
  }
  held._handle = null;
  stream.destroy();
  const buffer = Buffer.allocUnsafe(bytes);
  const options = {
    handle,
    readable: true,
    writable: false,
    onread: {
      buffer,
      callback: (n: number): boolean => {
        onChunk(buffer.subarray(0, n));
        return true;
      },
    },
  } as net.SocketConstructorOpts;
  const socket = new net.Socket(options);
  socket.on("error", onError);
  return socket;
}
