#!/bin/sh
# SPDX-License-Identifier: MIT
# The busybox initramfs of the kernel boot tests (kernel/check.sh, bench/quiet.sh):
# kernel/test/init as /init, the static ktest, and sbcod's engine (tests/policy_live,
# tests/fakevm) with their shared libraries.
# usage: kernel/initramfs.sh BUILD_DIR OUT.cpio.gz      exit 1 when ktest does not build
set -eu
B=$1
OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
R=$(mktemp -d /tmp/sbco-initramfs.XXXXXX)
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/tmp" "$R/b/tests"
cp /bin/busybox "$R/bin/busybox"
cp "$HERE/test/init" "$R/init"
chmod 755 "$R/init"
gcc -O2 -static -pthread -Wall -Wextra -Werror -I"$ROOT/lib" -D_GNU_SOURCE \
	-o "$R/bin/ktest" "$HERE/test/ktest.c" "$ROOT/$B/libsbco.a" -lm
cp "$ROOT/$B/tests/policy_live" "$ROOT/$B/tests/fakevm" "$R/b/tests/"
for l in $(ldd "$R/b/tests/policy_live" "$R/b/tests/fakevm" |
	awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | sort -u); do
	mkdir -p "$R$(dirname "$l")"
	cp -L "$l" "$R$l"
done
(cd "$R" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$OUT"
