#!/usr/bin/env bash
# Builds (once) a Debian sid tree with matrix-synapse in it, used by the tests and the demo
# to run a real Synapse on 127.0.0.1. The tree is cached outside the repository.
# Usage: scripts/provision-synapse-root.sh [DIR]   (default: $SYNAPSE_ROOT or /var/cache/matrix-camera-call/synapse-root)
set -euo pipefail
root="${1:-${SYNAPSE_ROOT:-/var/cache/matrix-camera-call/synapse-root}}"
if [ -x "$root/usr/bin/python3" ] && [ -e "$root/usr/lib/python3/dist-packages/synapse/__init__.py" ] && [ -f "$root/.provisioned" ]; then
  echo "synapse root ready: $root"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap
fi
mkdir -p "$(dirname "$root")"
if [ ! -x "$root/usr/bin/apt-get" ]; then
  rm -rf "$root"
  debootstrap --variant=minbase sid "$root"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Check-Valid-Until=false update
chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends matrix-synapse
touch "$root/.provisioned"
echo "synapse root ready: $root"
