#!/usr/bin/env bash
# Sets up everything matrix-camera-call needs on a fresh Debian/Ubuntu machine (as root, or with sudo):
# the system packages that are missing (ffmpeg, GStreamer's RTSP server for the test camera, debootstrap,
# mosquitto, coturn), the Synapse tree for the local homeserver (cached), and the Node dependencies.
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

echo "node $(node --version), npm $(npm --version)"
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

# --- Synapse tree (cached in /var/cache/matrix-camera-call/synapse-root) -------------------------
section "Synapse tree"
bash scripts/provision-synapse-root.sh

# --- Node dependencies -------------------------------------------------------------------------
section "npm ci"
mkdir -p .tmp
if ! npm ci --no-audit --no-fund 2>&1 | tee .tmp/npm-ci.log; then
  # The registry reachable here does not serve every platform's optional binaries (e.g. rollup's
  # @rollup/rollup-android-*), so `npm install` cannot record them in package-lock.json and `npm ci`
  # then calls the lock out of sync (npm/cli#9846). Fall back to `npm install`, but only if that leaves
  # package.json and package-lock.json byte-for-byte unchanged, i.e. the lock was not really stale.
  grep -q "can only install packages when your package.json and package-lock.json" .tmp/npm-ci.log \
    || fail "npm ci failed"
  echo "npm ci rejected the lock file (optional packages this registry lacks); checking with npm install"
  cp package.json .tmp/package.json.before
  cp package-lock.json .tmp/package-lock.json.before
  rm -rf node_modules
  npm install --no-audit --no-fund
  cmp -s package.json .tmp/package.json.before && cmp -s package-lock.json .tmp/package-lock.json.before \
    || fail "package-lock.json is out of date: run npm install and commit package-lock.json"
  echo "npm install left package.json and package-lock.json unchanged: the lock file is current"
fi

