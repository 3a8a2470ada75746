#!/usr/bin/python3
"""A synthetic RTSP camera for the benchmark: every frame carries its capture time, machine-readable.

Run with the system Python (/usr/bin/python3): GStreamer's GObject bindings (`gi`) live there.

Pipeline (GstRtspServer, one shared media factory, so all clients are fed by one pipeline):

    videotestsrc is-live=true ! video/x-raw,format=I420,width=W,height=H,framerate=F/1
      ! identity name=stamp ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=F ! rtph264pay
    audiotestsrc is-live=true ! ... ! alawenc ! rtppcmapay

The stamp. A pad probe on the sink pad of `identity` sees each raw frame as videotestsrc made it. A buffer
there is not writable from Python (PyGObject holds extra references, so gst_buffer_map(WRITE) refuses it, and
`make_writable()` cannot replace the buffer the probe was given), so the probe makes a deep copy (a new buffer whose
only reference is ours, hence writable), writes the stamp into the copy, pushes the copy out of identity's src pad
itself and drops the original (Gst.PadProbeReturn.DROP). Events still pass through identity untouched.

The stamp is a grid of 3 rows x 32 cells in the top of the Y plane; a cell is W/32 wide and H/18 tall, so the grid
keeps its place relative to the picture through any scaling. Each cell is black (Y=16, bit 0) or white (Y=235,
bit 1). 96 bits, most significant first:
    8 bits  start marker 0xB2
   48 bits  capture wall-clock time, ms since the Unix epoch (time.time_ns() when the frame passes the probe)
   16 bits  frame sequence number (mod 65536)
   16 bits  CRC-16/CCITT-FALSE of the 8 bytes time+sequence
    8 bits  end marker 0x4D
A reader samples the middle of each cell; a frame whose markers or CRC do not match is counted as a misread.

Everything the benchmark needs to know is printed on stdout as one JSON object per line:
  {"event":"ready","port":N,"path":"/cam"}   {"event":"session","count":N}   {"event":"media-constructed","count":N}
  {"event":"client-connected","connected":N}  {"event":"client-closed","connected":N}   {"event":"error","message":...}
The process exits on SIGTERM/SIGINT or when its stdin closes (it never outlives the benchmark).
"""

import argparse
import json
import os
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

COLS = 32
ROWS = 3
ROW_DIVISOR = 18
START = 0xB2
END = 0x4D
BLACK = 16
WHITE = 235


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def crc16(data):
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def stamp_bits(ms, seq):
    payload = ms.to_bytes(6, "big") + (seq & 0xFFFF).to_bytes(2, "big")
    word = (START << 88) | (int.from_bytes(payload, "big") << 24) | (crc16(payload) << 8) | END
    return [(word >> (95 - i)) & 1 for i in range(COLS * ROWS)]


class Stamper:
    """Writes the stamp into the Y plane of each frame (see the module docstring)."""

    def __init__(self, width, height):
        self.width = width
        self.height = height
        self.stride = (width + 3) & ~3  # videotestsrc's I420 Y stride
        # Cell edges in pixels, so that 32 cells cover the width exactly whatever the width.
        self.xs = [round(i * width / COLS) for i in range(COLS + 1)]
        self.ys = [round(r * height / ROW_DIVISOR) for r in range(ROWS + 1)]
        self.seq = 0
        self.black = bytes([BLACK]) * width
        self.white = bytes([WHITE]) * width

    def row_bytes(self, bits):
        parts = []
        for c in range(COLS):
            n = self.xs[c + 1] - self.xs[c]
            parts.append((self.white if bits[c] else self.black)[:n])
        row = b"".join(parts)
        return row + bytes(self.stride - self.width)

    def stamp(self, mapped_data):
        ms = time.time_ns() // 1_000_000
        bits = stamp_bits(ms, self.seq)
        self.seq = (self.seq + 1) & 0xFFFF
        for r in range(ROWS):
            row = self.row_bytes(bits[r * COLS:(r + 1) * COLS])
            y0, y1 = self.ys[r], self.ys[r + 1]
            mapped_data[y0 * self.stride:y1 * self.stride] = row * (y1 - y0)


def attach_stamper(media, width, height, counters):
    element = media.get_element()
    identity = element.get_by_name("stamp")
    if identity is None:
        emit("error", message="no identity named stamp in the media")
        return
    src = identity.get_static_pad("src")
    stamper = Stamper(width, height)

    def probe(_pad, info):
        buf = info.get_buffer()
        if buf is None:
            return Gst.PadProbeReturn.OK
        copy = buf.copy_deep()
        ok, mapped = copy.map(Gst.MapFlags.WRITE)
        if not ok:
            counters["unstamped"] += 1
            return Gst.PadProbeReturn.OK  # let the original through, unstamped (readers count a misread)
        try:
            stamper.stamp(mapped.data)
        finally:
            copy.unmap(mapped)
        counters["stamped"] += 1
        src.push(copy)
        return Gst.PadProbeReturn.DROP

    identity.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)


def parse_args(argv):
    p = argparse.ArgumentParser(description="RTSP camera whose frames carry their capture time")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    p.add_argument("--path", default="cam")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--bitrate", type=int, default=2500, help="H.264/H.265 bitrate, kbit/s")
    p.add_argument("--codec", choices=list(ENCODERS), default="h264", help="video codec sent")
    p.add_argument("--pattern", default="smpte", help="videotestsrc pattern")
    p.add_argument("--speed", type=int, default=2, help="videotestsrc horizontal-speed (moving picture)")
    p.add_argument("--audio", choices=["pcma", "none"], default="pcma")
    return p.parse_args(argv)


# The video encoder and payloader per --codec (h264 is what the bench measures; h265 and mjpeg for
# bench/front-end-latency.ts, which checks that a change for H.264 leaves the other codecs no worse).
ENCODERS = {
    "h264": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={f} bitrate={br}"
            " ! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=1",
    "h265": "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={f} bitrate={br}"
            " ! rtph265pay name=pay0 pt=96 config-interval=1",
    "mjpeg": "jpegenc quality=85 ! rtpjpegpay name=pay0 pt=26",
}


def main(argv):
    args = parse_args(argv)
    Gst.init(None)
    missing = [e for e in ("videotestsrc", "identity", "x264enc", "rtph264pay", "audiotestsrc", "alawenc", "rtppcmapay")
               if Gst.ElementFactory.find(e) is None]
    if missing:
        emit("error", message="missing GStreamer elements: " + ", ".join(missing))
        return 1
    launch = (
        "( videotestsrc is-live=true pattern={pattern} horizontal-speed={speed}"
        " ! video/x-raw,format=I420,width={w},height={h},framerate={f}/1"
        " ! identity name=stamp ! " + ENCODERS[args.codec]
    ).format(pattern=args.pattern, speed=args.speed, w=args.width, h=args.height, f=args.fps, br=args.bitrate)
    if args.audio == "pcma":
        launch += (" audiotestsrc is-live=true wave=sine freq=440 volume=0.2 ! audioconvert ! audioresample"
                   " ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8")
    launch += " )"
    sys.stderr.write("stamp_camera: launch " + launch + "\n")

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    server.get_mount_points().add_factory("/" + args.path, factory)

    state = {"connected": 0, "sessions": 0, "media": 0, "stamped": 0, "unstamped": 0}

    def on_media_constructed(_factory, _media):
        state["media"] += 1
        emit("media-constructed", count=state["media"])

    def on_media_configure(_factory, media):
        attach_stamper(media, args.width, args.height, state)

    factory.connect("media-constructed", on_media_constructed)
    factory.connect("media-configure", on_media_configure)

    def on_new_session(_client, _session):
        state["sessions"] += 1
        emit("session", count=state["sessions"])

    def on_closed(_client):
        state["connected"] -= 1
        emit("client-closed", connected=state["connected"])

    def on_client_connected(_server, client):
        state["connected"] += 1
        client.connect("new-session", on_new_session)
        client.connect("closed", on_closed)
        emit("client-connected", connected=state["connected"])

    server.connect("client-connected", on_client_connected)
    try:
        source_id = server.attach(None)
    except GLib.Error as err:
        source_id = 0
        sys.stderr.write("stamp_camera: attach failed: " + str(err) + "\n")
    if not source_id:
        emit("error", message="could not listen on 127.0.0.1:%d" % args.port)
        return 1

    loop = GLib.MainLoop()

    def stop(*_unused):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, stop)

    def on_stdin(_channel, _condition):
        try:
            data = os.read(sys.stdin.fileno(), 4096)
        except OSError:
            data = b""
        if not data:
            loop.quit()
            return GLib.SOURCE_REMOVE
        return GLib.SOURCE_CONTINUE

    if not sys.stdin.isatty():
        GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT,
                          GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR, on_stdin)

    def report():
        emit("stats", stamped=state["stamped"], unstamped=state["unstamped"], sessions=state["sessions"])
        return GLib.SOURCE_CONTINUE

    GLib.timeout_add_seconds(5, report)
    emit("ready", port=server.get_bound_port(), path="/" + args.path)
    loop.run()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: GStreamer streaming threads may still be running.
    os._exit(code)
