#!/bin/sh
# Builds native/zero-pages.so from native/zero-pages.c when it is missing or older than its source, and prints its
# path: the bot's launcher (bin/matrix-camera-call), the bench and the soak preload it (why: native/zero-pages.c).
# Prints nothing, with one line on stderr, where it cannot be built (no C compiler, or not glibc): the bot then runs
# without it, as before. Well under a second with gcc.
set -eu
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
src="$root/native/zero-pages.c"
so="$root/native/zero-pages.so"
if [ ! -f "$so" ] || [ "$src" -nt "$so" ]; then
  cc=${CC:-cc}
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "zero-pages: no C compiler ($cc): the bot runs without it (VP8 encoders then keep ~20 MB more a call)" >&2
    exit 0
  fi
  tmp="$so.$$"
  if ! "$cc" -O2 -fno-builtin -Wall -Wextra -Werror -shared -fPIC -Wl,-z,defs -o "$tmp" "$src"; then
    rm -f "$tmp"
    echo "zero-pages: $cc could not build $src: the bot runs without it" >&2
    exit 0
  fi
  mv -f "$tmp" "$so"
fi
printf '%s\n' "$so"
