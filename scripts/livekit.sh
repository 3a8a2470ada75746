#!/usr/bin/env bash
# Builds the LiveKit SFU (livekit-server) that the MatrixRTC tests run against, once, into a cache, and prints the
# binary's path on stdout (progress goes to stderr). Needs Go (PATH or /usr/local/go) and the Go module proxy; the
# first build takes about a minute on 2 cores, later runs find the cached binary and return at once.
# Exit 0 with the path; exit 3 when Go is missing (the caller skips LiveKit); any other failure exits 1.
# LIVEKIT_CACHE overrides the cache directory (default /var/cache/matrix-camera-call, as for the Synapse tree).
set -euo pipefail

version=1.13.5
cache="${LIVEKIT_CACHE:-/var/cache/matrix-camera-call}/livekit-$version"
binary="$cache/server"

if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -qx "livekit-server version $version"; then
  echo "$binary"
  exit 0
fi

go=""
if command -v go >/dev/null; then
  go="$(command -v go)"
elif [ -x /usr/local/go/bin/go ]; then
  go=/usr/local/go/bin/go
fi
if [ -z "$go" ]; then
  echo "livekit: Go is not installed (no go in PATH or /usr/local/go): cannot build livekit-server $version" >&2
  exit 3
fi

mkdir -p "$cache"
echo "livekit: building livekit-server $version with $("$go" version) into $cache" >&2
# GOFLAGS is cleared: a machine-wide GOFLAGS (e.g. -mod=vendor) would break `go install module@version`.
# A temporary GOBIN, then a rename: an interrupted build never leaves a half-written binary at the cached path.
tmp="$(mktemp -d "$cache/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOFLAGS= GOBIN="$tmp" "$go" install "github.com/livekit/livekit-server/cmd/server@v$version" >&2
"$tmp/server" --version >&2
mv "$tmp/server" "$binary"
echo "$binary"
