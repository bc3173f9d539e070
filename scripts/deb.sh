#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the Debian package from a clean copy of the tree (tracked and new files, no build
# output or ignored files, as a fresh checkout has them) with `dpkg-buildpackage -us -uc
# -b`; the .deb, .buildinfo and .changes land in OUT. Needs the Build-Depends of debian/control (scripts/deps.sh deb).
# usage: scripts/deb.sh OUT
set -eu
OUT=${1:-build/deb}
V=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
SRC="$OUT/sbco-$V"
rm -rf "$OUT"
mkdir -p "$SRC"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -xf - -C "$SRC"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$SRC"
fi
(cd "$SRC" && dpkg-checkbuilddeps && dpkg-buildpackage -us -uc -b -j"$(nproc)")
ls "$OUT"/*.deb
