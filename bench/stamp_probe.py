#!/usr/bin/python3
"""A GStreamer RTSP client that reads the stamp of test/harness/rtsp_camera.py --stamp from every decoded frame.

It is the camera-side floor of the benchmark: capture -> x264 -> RTSP/TCP -> depayload -> decode, with a
low-latency GStreamer receiver (rtspsrc latency=0, avdec_h264 slice threads, appsink sync=false), so the
difference to our ffmpeg's output (the decode floor) is what ffmpeg and the pipe add.

  stamp_probe.py --url rtsp://127.0.0.1:PORT/cam --width W --height H --seconds S [--warmup S]

Prints one JSON line: {"frames":N,"misreads":M,"latencies":[...ms...]} (frames after the warm-up only).
"""

import argparse
import json
import os
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

# The stamp's layout, writer and reader live in one place, beside the camera that writes it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "harness"))
from camera_stamp import read_stamp  # noqa: E402  (after gi.require_version)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--warmup", type=float, default=2)
    args = p.parse_args(argv)
    Gst.init(None)
    pipeline = Gst.parse_launch(
        "rtspsrc location={url} protocols=tcp latency=0 ! rtph264depay ! avdec_h264 thread-type=slice"
        " ! video/x-raw,format=I420 ! appsink name=sink sync=false max-buffers=2 drop=true emit-signals=true".format(url=args.url)
    )
    sink = pipeline.get_by_name("sink")
    stride = (args.width + 3) & ~3
    state = {"frames": 0, "misreads": 0, "latencies": [], "t0": None}
    loop = GLib.MainLoop()

    def on_sample(appsink):
        sample = appsink.emit("pull-sample")
        now = time.time_ns() / 1e6
        if state["t0"] is None:
            state["t0"] = now
        if now - state["t0"] < args.warmup * 1000:
            return Gst.FlowReturn.OK
        buf = sample.get_buffer()
        ok, mapped = buf.map(Gst.MapFlags.READ)
        if ok:
            try:
                ms = read_stamp(mapped.data, args.width, args.height, stride)
            finally:
                buf.unmap(mapped)
            state["frames"] += 1
            if ms is None:
                state["misreads"] += 1
            else:
                state["latencies"].append(round(now - ms, 2))
        if now - state["t0"] >= (args.warmup + args.seconds) * 1000:
            GLib.idle_add(loop.quit)
        return Gst.FlowReturn.OK

    sink.connect("new-sample", on_sample)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add_seconds(int(args.warmup + args.seconds + 20), loop.quit)  # bounded
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    sys.stdout.write(json.dumps({"frames": state["frames"], "misreads": state["misreads"], "latencies": state["latencies"]}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
