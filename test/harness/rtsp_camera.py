#!/usr/bin/python3
"""A test RTSP "IP camera" built on GStreamer's RTSP server (GstRtspServer).

Run with the system Python (/usr/bin/python3): the GObject bindings (`gi`) live there.
It serves one mount (default /cam) on 127.0.0.1 with a live test picture (videotestsrc)
encoded as H.264 (default), H.265 or MJPEG, plus optional G.711 A-law (PCMA) or AAC audio
from audiotestsrc. The media factory is shared: all clients are fed by one pipeline.

Everything the test harness needs to know is printed on stdout as one JSON object per line:
  {"event":"ready","port":N,"path":"/cam"}       serving (N is the bound port)
  {"event":"client-connected","connected":N}       a TCP client connected (N now connected)
  {"event":"session","count":N}                    a client opened an RTSP session (N so far)
  {"event":"media-constructed","count":N}          a pipeline was built (shared: once per burst)
  {"event":"client-closed","connected":N}          a client's connection closed
  {"event":"backchannel","state":"receiving"}     a backchannel session received its first audio (--backchannel)
  {"event":"error","message":"..."}                startup failed (the process then exits 1)
  {"event":"stats","stamped":N,"unstamped":M}      every 5 s with --stamp: frames stamped so far
With --stamp every raw frame carries its capture time (camera_stamp.py: the benchmark's latency figures read it at
the receiver); --speed moves the picture (videotestsrc horizontal-speed), as a real scene keeps the encoder busy.
With --backchannel pcmu|pcma the server is an ONVIF one (RTSPOnvifServer, an unshared RTSPOnvifMediaFactory): a
client that DESCRIBEs with "Require: www.onvif.org/ver20/backchannel" gets a sendonly audio track; what it sends
there is decoded and appended to --backchannel-file as records: float64 LE arrival time (Unix seconds),
uint32 LE byte count, that many bytes of 8 kHz mono s16le.
Diagnostics go to stderr. The process exits on SIGTERM/SIGINT or when its stdin closes
(so it never outlives the test process that spawned it).
"""

import argparse
import json
import os
import re
import signal
import struct
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

from camera_stamp import attach_stamper  # noqa: E402  (after gi.require_version)


def emit(event, **fields):
    fields = {"event": event, **fields}
    sys.stdout.write(json.dumps(fields, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def have(element):
    return Gst.ElementFactory.find(element) is not None


def video_branch(args):
    caps = "video/x-raw,width={w},height={h},framerate={f}/1".format(w=args.width, h=args.height, f=args.fps)
    src = "videotestsrc is-live=true pattern={p} horizontal-speed={s} ! {caps} ! videoconvert".format(
        p=args.pattern, s=args.speed, caps=caps)
    # The stamp is written into the raw I420 frame right before the encoder (camera_stamp.py).
    raw = " ! video/x-raw,format=I420" + (" ! identity name=stamp" if args.stamp else "")
    if args.codec == "h264":
        return (
            src + raw +
            " ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={f} bitrate={br}{bf}"
            " ! video/x-h264,profile={profile}"
            " ! rtph264pay name=pay0 pt=96 config-interval=1"
        ).format(f=args.fps, br=args.bitrate, profile=args.profile,
                 bf=" bframes={} b-adapt=false".format(args.bframes) if args.bframes > 0 else "")
    if args.codec == "h265":
        return (
            src + raw +
            " ! x265enc tune=zerolatency speed-preset=ultrafast key-int-max={f} bitrate={br}"
            " ! video/x-h265,profile=main"
            " ! rtph265pay name=pay0 pt=96 config-interval=1"
        ).format(f=args.fps, br=args.bitrate)
    if args.codec == "mjpeg":
        return src + raw + " ! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26"
    raise ValueError("unknown codec " + args.codec)


def audio_branch(args):
    src = "audiotestsrc is-live=true wave=sine freq=440 volume=0.2 ! audioconvert ! audioresample"
    if args.audio == "pcma":
        return src + " ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8"
    if args.audio == "aac":
        encoder = "avenc_aac" if have("avenc_aac") else "voaacenc"
        return (
            src + " ! audio/x-raw,rate=16000,channels=1 ! audioconvert ! {enc} bitrate=32000"
            " ! aacparse ! rtpmp4gpay name=pay1 pt=97"
        ).format(enc=encoder)
    return None


def backchannel_launch(codec):
    if codec == "pcmu":
        caps, chain = "payload=0, clock-rate=8000, encoding-name=PCMU", "rtppcmudepay ! mulawdec"
    else:
        caps, chain = "payload=8, clock-rate=8000, encoding-name=PCMA", "rtppcmadepay ! alawdec"
    # The first element must be named depay_backchannel; the sink must not wait for preroll (async=false).
    return (
        '( capsfilter caps="application/x-rtp, media=audio, {caps}" name=depay_backchannel ! {chain}'
        " ! audioconvert ! audio/x-raw,format=S16LE,rate=8000,channels=1"
        " ! appsink name=talkback emit-signals=true async=false sync=false )"
    ).format(caps=caps, chain=chain)


class OneEncoderFactory(GstRtspServer.RTSPMediaFactory):
    """A shared media per path, as a camera encodes each stream once however it is addressed.

    GStreamer keys a shared media by the URL's port and path, so a client that reached the camera through a
    loopback proxy (the bot's frame-end proxy: the proxy's port in its requests) got a second media, a second
    x264 encoder on the machine's cores: the bench's cameras took 26-30 % of a core at 720p25 for one such
    client against 13 % for one connecting directly (2026-12-05).
    """

    def do_gen_key(self, url):
        return url.abspath + ("?" + url.query if url.query else "")


def watch_backchannel(media, path):
    """The backchannel's elements join the media's bin only once a client sets the track up: look for the sink."""
    out = open(path, "ab") if path else None

    first = [True]

    def on_sample(sink):
        if first[0]:
            first[0] = False
            emit("backchannel", state="receiving")
        sample = sink.emit("pull-sample")
        buf = sample.get_buffer()
        data = buf.extract_dup(0, buf.get_size())
        if out is not None:
            out.write(struct.pack("<dI", time.time(), len(data)) + data)
            out.flush()
        return Gst.FlowReturn.OK

    def poll():
        bin_ = media.get_element()
        sink = bin_.get_by_name("talkback") if bin_ is not None else None
        if sink is None:
            return GLib.SOURCE_CONTINUE
        sink.connect("new-sample", on_sample)
        return GLib.SOURCE_REMOVE

    tries = [0]

    def tick():
        # Only a client that sets the backchannel up adds it (the bot's ffmpeg never does): give up after 5 min.
        tries[0] += 1
        return poll() if tries[0] < 6000 else GLib.SOURCE_REMOVE

    GLib.timeout_add(50, tick)


def required_elements(args):
    need = ["videotestsrc", "videoconvert"] + (["identity"] if args.stamp else [])
    need += {"h264": ["x264enc", "rtph264pay"], "h265": ["x265enc", "rtph265pay"], "mjpeg": ["jpegenc", "rtpjpegpay"]}[
        args.codec
    ]
    if args.audio == "pcma":
        need += ["audiotestsrc", "alawenc", "rtppcmapay"]
    elif args.audio == "aac":
        need += ["audiotestsrc", "aacparse", "rtpmp4gpay"]
        if not (have("avenc_aac") or have("voaacenc")):
            need.append("avenc_aac")
    return [e for e in need if not have(e)]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    p.add_argument("--path", default="cam")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--codec", choices=["h264", "h265", "mjpeg"], default="h264")
    p.add_argument("--profile", choices=["baseline", "main"], default="baseline", help="H.264 profile")
    p.add_argument("--bitrate", type=int, default=1500, help="video bitrate, kbit/s (H.264/H.265)")
    p.add_argument("--bframes", type=int, default=0, help="H.264 B-frames between references (main profile)")
    p.add_argument("--audio", choices=["pcma", "aac", "none"], default="pcma")
    p.add_argument("--pattern", default="smpte", help="videotestsrc pattern nick, e.g. smpte, ball, red, black")
    p.add_argument("--auth", choices=["basic", "digest"], default="digest")
    p.add_argument("--backchannel", choices=["none", "pcmu", "pcma"], default="none")
    p.add_argument("--backchannel-file", default="", help="where received backchannel audio is appended")
    p.add_argument("--stamp", action="store_true", help="write each frame's capture time into it (camera_stamp.py)")
    p.add_argument("--speed", type=int, default=0, help="videotestsrc horizontal-speed (a moving picture)")
    args = p.parse_args(argv)
    # The password comes through the environment, not argv, so it is not visible in `ps`.
    args.user = os.environ.get("RTSP_CAMERA_USER") or None
    args.password = os.environ.get("RTSP_CAMERA_PASSWORD") or ""
    if not re.fullmatch(r"[a-z0-9-]+", args.pattern):
        p.error("pattern must be a videotestsrc pattern nick")
    if not re.fullmatch(r"[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*", args.path):
        p.error("path must be URL-safe segments separated by /")
    return args


def main(argv):
    args = parse_args(argv)
    Gst.init(None)
    missing = required_elements(args)
    if missing:
        emit("error", message="missing GStreamer elements: " + ", ".join(missing))
        return 1

    launch = "( " + video_branch(args)
    audio = audio_branch(args)
    if audio is not None:
        launch += "  " + audio
    launch += " )"
    sys.stderr.write("rtsp_camera: launch " + launch + "\n")

    onvif = args.backchannel != "none"
    server = GstRtspServer.RTSPOnvifServer() if onvif else GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))

    if onvif:
        factory = GstRtspServer.RTSPOnvifMediaFactory()
        factory.set_backchannel_launch(backchannel_launch(args.backchannel))
        # As GStreamer's own ONVIF example: without the media type DESCRIBE fails with "can't create media".
        factory.set_shared(False)
        factory.set_media_gtype(GstRtspServer.RTSPOnvifMedia)
    else:
        factory = OneEncoderFactory()
        factory.set_shared(True)
    factory.set_launch(launch)

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        # set_string, not writable_structure(): the bindings hand back a copy of the structure.
        token.set_string("media.factory.role", "viewer")
        if args.auth == "basic":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        server.set_auth(auth)
        # Only the "viewer" role may see and build this media; anonymous clients get 401.
        permissions = Gst.Structure.new_from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )
        factory.add_role_from_structure(permissions)

    server.get_mount_points().add_factory("/" + args.path, factory)

    state = {"connected": 0, "sessions": 0, "media": 0, "stamped": 0, "unstamped": 0}

    def on_media_constructed(_factory, _media):
        state["media"] += 1
        emit("media-constructed", count=state["media"])

    factory.connect("media-constructed", on_media_constructed)
    if onvif:
        factory.connect("media-constructed", lambda _f, media: watch_backchannel(media, args.backchannel_file))
    if args.stamp:
        factory.connect("media-configure", lambda _f, media: attach_stamper(
            media, args.width, args.height, state, lambda message: emit("error", message=message)))

        def report():
            emit("stats", stamped=state["stamped"], unstamped=state["unstamped"])
            return GLib.SOURCE_CONTINUE

        GLib.timeout_add_seconds(5, report)

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
        sys.stderr.write("rtsp_camera: attach failed: " + str(err) + "\n")
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
        # EOF or hang-up on stdin: the parent is gone.
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

    emit("ready", port=server.get_bound_port(), path="/" + args.path)
    loop.run()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: GStreamer streaming threads may still be running.
    os._exit(code)
