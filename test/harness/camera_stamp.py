"""The frame stamp of test/harness/rtsp_camera.py --stamp: every raw frame carries its capture time, machine-readable.

Imported by rtsp_camera.py (the one GStreamer test camera of the tests and the benchmark); read back by bench/stamp.ts
(in the bot and the receiver) and bench/stamp_probe.py (a GStreamer client).

The pipeline gets `identity name=stamp` on its raw I420 frames, right before the encoder. A pad probe on the
identity's sink pad sees each frame as videotestsrc made it. A buffer there is not writable from Python (PyGObject
holds extra references, so gst_buffer_map(WRITE) refuses it, and `make_writable()` cannot replace the buffer the probe
was given), so the probe makes a deep copy (a new buffer whose only reference is ours, hence writable), writes the
stamp into the copy, pushes the copy out of identity's src pad itself and drops the original
(Gst.PadProbeReturn.DROP). Events still pass through identity untouched.

The stamp is a grid of 3 rows x 32 cells in the top of the Y plane; a cell is W/32 wide and H/18 tall, so the grid
keeps its place relative to the picture through any scaling. Each cell is black (Y=16, bit 0) or white (Y=235,
bit 1). 96 bits, most significant first:
    8 bits  start marker 0xB2
   48 bits  capture wall-clock time, ms since the Unix epoch (time.time_ns() when the frame passes the probe)
   16 bits  frame sequence number (mod 65536)
   16 bits  CRC-16/CCITT-FALSE of the 8 bytes time+sequence
    8 bits  end marker 0x4D
A reader (read_stamp) samples the middle of each cell; a frame whose markers or CRC do not match is counted as a misread.
"""

import time

from gi.repository import Gst

COLS = 32
ROWS = 3
ROW_DIVISOR = 18
START = 0xB2
END = 0x4D
BLACK = 16
WHITE = 235


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
        self.stride = (width + 3) & ~3  # GStreamer's default I420 Y stride (rounded up to 4)
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


def read_stamp(data, width, height, stride):
    word = 0
    for bit in range(COLS * ROWS):
        row, col = divmod(bit, COLS)
        cx = int((col + 0.5) * width / COLS)
        cy = int((row + 0.5) * height / ROW_DIVISOR)
        word = (word << 1) | (1 if data[cy * stride + cx] >= 128 else 0)
    raw = word.to_bytes(12, "big")
    if raw[0] != START or raw[11] != END or crc16(raw[1:9]) != int.from_bytes(raw[9:11], "big"):
        return None
    return int.from_bytes(raw[1:7], "big")


def attach_stamper(media, width, height, counters, on_error):
    """Stamps every frame passing the media's `identity name=stamp`; counts them in counters["stamped"/"unstamped"]."""
    identity = media.get_element().get_by_name("stamp")
    if identity is None:
        on_error("no identity named stamp in the media")
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
