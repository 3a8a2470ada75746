#!/usr/bin/env bash
# Builds native/ffmpeg-lean/ffmpeg, the ffmpeg that reads the bot's rtsp:// cameras, and prints its path.
#
# Why: Debian's ffmpeg (and GStreamer's avdec_h264, through the same libavcodec) loads about 200 shared libraries
# (librsvg, x265, aom, flite voices, gnutls, ...) to decode one H.264 stream. Their mapped pages and relocated data are
# most of a camera's memory: reading a 1080p25 camera took 66 MB RSS with Debian's ffmpeg 5.1.9 and 76 MB with the
# GStreamer front end; this build of the same FFmpeg 5.1.9, with FFmpeg's own decoders only and no outside library,
# takes 22 MB with the same command line (docs/benchmark.md, "A lean ffmpeg reads the cameras").
#
# What is in it: the RTSP/RTP client, the video decoders cameras send (H.264, H.265, MJPEG, MPEG-4 part 2), their
# audio decoders (G.711, G.722, G.723.1, G.726, G.729, AAC, Opus, MP3, PCM), the filters and raw outputs of the bot's camera command
# (media/ffmpeg-args.ts). Not in it: TLS (rtsps://), hardware decoding, encoders: such cameras, snapshots and the
# rest use the full ffmpeg. A camera whose codec is missing here falls back to the full ffmpeg (restart-policy.ts).
# LGPL 2.1 or later (no GPL part is enabled). About 2 minutes on two cores; the result is cached under
# /var/cache/matrix-camera-call when that is writable, so a second clone on the machine copies it.
#
# Source: Debian's copy of the FFmpeg 5.1.9 release (the version Debian 12 ships), checked against its SHA-256.
# Needs a C compiler, make and nasm (apt-get install gcc make nasm). Exit 3: something missing, with one line on
# stderr; the bot then reads cameras as before.
set -euo pipefail
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
version=5.1.9
url="http://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_${version}.orig.tar.xz"
sha256=d9b593bb2ba93d4b50f74177e0cdcd41747e708596367deed0c30348a71dd176

flags=(
  --disable-everything --disable-autodetect --disable-doc --disable-debug --disable-programs --enable-ffmpeg
  --enable-static --disable-shared --enable-network
  --enable-protocol=file,pipe,tcp,udp,rtp,http
  --enable-demuxer=rtsp,rtp,sdp
  --enable-decoder=h264,hevc,mjpeg,mpeg4,h263,pcm_alaw,pcm_mulaw,pcm_s16be,pcm_s16le,adpcm_g722,adpcm_g726,adpcm_g726le,g729,g723_1,aac,aac_latm,opus,mp3float
  --enable-parser=h264,hevc,mjpeg,mpeg4video,h263,aac,aac_latm,opus,mpegaudio,g723_1,g729
  --enable-filter=select,scale,aresample,aformat,format,null,anull
  --enable-encoder=rawvideo,pcm_s16le --enable-muxer=rawvideo,pcm_s16le
  --enable-swscale --enable-swresample
)
# One id for this source and these flags: a changed list builds again.
id="$version-$(printf '%s\n' "${flags[@]}" | sha256sum | cut -c1-12)"
dest="$root/native/ffmpeg-lean"
bin="$dest/ffmpeg"
if [ -x "$bin" ] && [ "$(cat "$dest/build-id" 2>/dev/null || true)" = "$id" ]; then
  printf '%s\n' "$bin"
  exit 0
fi
cache="${MCC_CACHE_DIR:-/var/cache/matrix-camera-call}/ffmpeg-lean-$id"
install_from() {
  mkdir -p "$dest"
  cp "$1/ffmpeg" "$bin.$$"
  mv -f "$bin.$$" "$bin"
  printf '%s\n' "$id" >"$dest/build-id"
  printf '%s\n' "$bin"
}
if [ -x "$cache/ffmpeg" ]; then
  install_from "$cache"
  exit 0
fi

for tool in "${CC:-cc}" make nasm curl xz sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "lean-ffmpeg: $tool is missing (apt-get install gcc make nasm curl xz-utils): cameras are read by the full ffmpeg" >&2
    exit 3
  fi
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "lean-ffmpeg: building FFmpeg $version ($id) in $work" >&2
curl -fsS --retry 3 -o "$work/src.tar.xz" "$url"
echo "$sha256  $work/src.tar.xz" | sha256sum -c --quiet -
tar -xJf "$work/src.tar.xz" -C "$work"
(
  cd "$work/ffmpeg-$version"
  ./configure "${flags[@]}" >"$work/configure.log" 2>&1 || { tail -20 "$work/configure.log" >&2; exit 1; }
  make -j"$(nproc)" ffmpeg >"$work/make.log" 2>&1 || { tail -20 "$work/make.log" >&2; exit 1; }
  ./ffmpeg -hide_banner -version >/dev/null
)
if mkdir -p "$cache" 2>/dev/null && cp "$work/ffmpeg-$version/ffmpeg" "$cache/ffmpeg.$$" 2>/dev/null; then
  mv -f "$cache/ffmpeg.$$" "$cache/ffmpeg"
fi
install_from "$work/ffmpeg-$version"
