#!/usr/bin/env bash
# Sets up everything matrix-camera-call needs on a fresh Debian/Ubuntu machine (as root, or with sudo):
# the system packages that are missing (ffmpeg, GStreamer's RTSP server for the test camera, debootstrap,
# mosquitto, coturn), the Synapse tree for the local homeserver (cached), the LiveKit SFU for the MatrixRTC tests
# (built with Go, cached; skipped without Go), the lean ffmpeg that reads rtsp:// cameras (built from Debian's FFmpeg
# source, cached), and the Node dependencies.
# Used by `.ci/run` and by the README's two commands. Safe to run again: it only does what is missing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

start=$SECONDS
section() {
  printf '\n==================== %s  (+%ds) ====================\n' "$*" "$((SECONDS - start))"
}
fail() {
  printf 'SETUP FAILED: %s\n' "$*" >&2
  exit 1
}

# --- System packages ---------------------------------------------------------------------------
section "System packages"
packages=(
  ffmpeg
  gir1.2-gst-rtsp-server-1.0 python3-gst-1.0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad
  gstreamer1.0-libav gstreamer1.0-tools
  debootstrap mosquitto coturn
  chromium # headless, the Element Call callee of the MatrixRTC tests (test/harness/element-call-callee)
  gcc libc6-dev # the bot's preload, native/zero-pages.c (scripts/zero-pages.sh)
  make nasm curl xz-utils # the lean ffmpeg that reads rtsp:// cameras (scripts/lean-ffmpeg.sh)
)
missing=()
for pkg in "${packages[@]}"; do
  # Like `dpkg -s`, but only "installed" counts (not e.g. removed with its config files left).
  if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)" != "ii " ]; then
    missing+=("$pkg")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "all ${#packages[@]} packages already installed; skipping apt-get"
else
  echo "missing: ${missing[*]}"
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "not root and no sudo: cannot install ${missing[*]}"
    sudo=(sudo --preserve-env=DEBIAN_FRONTEND)
  fi
  # Keep the packages' daemons (mosquitto, coturn) from being started: the tests start their own.
  policy=/usr/sbin/policy-rc.d
  added_policy=false
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=true
    trap '[ "$added_policy" = true ] && "${sudo[@]}" rm -f "$policy"' EXIT
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  if [ "$added_policy" = true ]; then
    "${sudo[@]}" rm -f "$policy"
    added_policy=false
  fi
fi

# --- Node.js -----------------------------------------------------------------------------------
section "Node.js"
bash scripts/node.sh
hash -r
echo "node $(node --version) ($(command -v node)), npm $(npm --version)"
ffmpeg -hide_banner -version | sed -n 1p  # sed, not head: head would SIGPIPE ffmpeg under pipefail
gst-launch-1.0 --version | sed -n 1p
# The RTSP test camera needs GStreamer's Python bindings in the system Python (not a pyenv/venv one) and
# its encoders. This also builds GStreamer's plugin registry once, before the tests time anything.
/usr/bin/python3 - <<'PY' || fail "/usr/bin/python3 cannot run the GStreamer RTSP test camera"
import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer  # noqa: F401
Gst.init(None)
need = ["videotestsrc", "audiotestsrc", "x264enc", "x265enc", "jpegenc", "alawenc", "rtph264pay", "rtph265pay",
        "rtpjpegpay", "rtppcmapay", "rtpmp4gpay", "aacparse"]
missing = [e for e in need if Gst.ElementFactory.find(e) is None]
if not (Gst.ElementFactory.find("avenc_aac") or Gst.ElementFactory.find("voaacenc")):
    missing.append("avenc_aac|voaacenc")
if missing:
    raise SystemExit("missing GStreamer elements: " + ", ".join(missing))
print("GStreamer RTSP server and encoders: ok")
PY

# --- The lean ffmpeg (cached in /var/cache/matrix-camera-call/ffmpeg-lean-*) ---------------------
# FFmpeg with its own decoders only: reads the rtsp:// cameras in ~45 MB less each (scripts/lean-ffmpeg.sh).
section "Lean ffmpeg"
bash scripts/lean-ffmpeg.sh || fail "building the lean ffmpeg failed (scripts/lean-ffmpeg.sh; it needs deb.debian.org)"

# --- Synapse tree (cached in /var/cache/matrix-camera-call/synapse-root) -------------------------
section "Synapse tree"
bash scripts/provision-synapse-root.sh

# --- LiveKit SFU (cached in /var/cache/matrix-camera-call/livekit-1.13.5) --------------------------
# For the MatrixRTC tests (test/harness/livekit.ts). Without Go they skip with one line; the bot does not need it.
section "LiveKit SFU"
livekit_status=0
bash scripts/livekit.sh || livekit_status=$?
if [ "$livekit_status" -eq 3 ]; then
  echo "Go is missing: skipping livekit-server; the MatrixRTC (LiveKit) tests will skip"
elif [ "$livekit_status" -ne 0 ]; then
  fail "building livekit-server failed (scripts/livekit.sh exit $livekit_status; it needs the Go module proxy)"
fi

# --- Node dependencies -------------------------------------------------------------------------
# `npm ci` installs exactly package-lock.json, and of the optional platform packages only this machine's: the lock
# lists every platform's (rolldown's, lightningcss's, esbuild's, wrtc's), so a registry that starts or stops serving another
# platform's binaries changes nothing here. test/unit/lockfile.test.ts keeps the lock complete.
section "npm ci"
npm ci --no-audit --no-fund || fail "npm ci failed (if it says the lock is out of sync: npm install, commit package-lock.json)"
