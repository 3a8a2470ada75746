#!/usr/bin/python3
"""The bench's talkback command (`talkback: { exec: [python3, talkback_sink.py, FILE] }`): appends what reaches its
stdin to FILE as records of float64 LE arrival time (Unix seconds), uint32 LE byte count, that many bytes; the
format of test/harness/rtsp_camera.py's backchannel file, so test/harness/rtsp-camera.ts readBackchannel reads both.
Reads whatever is there as it comes (os.read), so each record's time is when the bot's write arrived."""

import os
import struct
import sys
import time

with open(sys.argv[1], "ab") as out:
    while True:
        data = os.read(0, 65536)
        if not data:
            break
        out.write(struct.pack("<dI", time.time(), len(data)) + data)
        out.flush()
