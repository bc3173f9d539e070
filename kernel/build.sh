#!/bin/sh
# SPDX-License-Identifier: MIT
# Build the sbco test kernel: Debian's linux-source-6.12 (installed by scripts/deps.sh
# kernel), untarred once into DIR/linux-source-6.12, kernel/sbco.patch applied (reverted
# first when an older version of it is in), tinyconfig plus kernel/config.list, bzImage.
# Incremental: a second run after editing the patch rebuilds only what changed.
# usage: kernel/build.sh DIR          prints the path of the bzImage on success
set -eu
DIR=${1:?usage: kernel/build.sh DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
TAR=/usr/src/linux-source-6.12.tar.xz
SRC=$DIR/linux-source-6.12
JOBS=$(nproc)
log() { echo "kernel/build.sh: $*" >&2; }

[ -r "$TAR" ] || { log "no $TAR (run: scripts/deps.sh kernel)"; exit 1; }
mkdir -p "$DIR"
if [ ! -f "$SRC/Makefile" ]; then
	log "unpacking $TAR"
	timeout 900 tar -xJf "$TAR" -C "$DIR"
fi
# the patch in force is kept beside the tree; swap it when kernel/sbco.patch changed
if ! cmp -s "$HERE/sbco.patch" "$SRC/.sbco.patch" 2> /dev/null; then
	if [ -f "$SRC/.sbco.patch" ]; then
		log "reverting the previous patch"
		patch -d "$SRC" -p1 -R -s < "$SRC/.sbco.patch"
	fi
	log "applying kernel/sbco.patch"
	patch -d "$SRC" -p1 -s --forward < "$HERE/sbco.patch"
	cp "$HERE/sbco.patch" "$SRC/.sbco.patch"
fi
cd "$SRC"
if [ ! -f .config ] || [ "$HERE/config.list" -nt .config ]; then
	log "configuring (tinyconfig + kernel/config.list)"
	timeout 300 make -s tinyconfig > /dev/null
	for o in $(grep -v '^#' "$HERE/config.list"); do # NAME, or NAME=VALUE
		case "$o" in
		*=*) ./scripts/config --set-val "${o%%=*}" "${o#*=}" ;;
		*) ./scripts/config --enable "$o" ;;
		esac
	done
	timeout 300 make -s olddefconfig > /dev/null
	for o in $(grep -v '^#' "$HERE/config.list"); do
		case "$o" in *=*) v=$o ;; *) v=$o=y ;; esac
		grep -q "^CONFIG_$v\$" .config || { log "CONFIG_$v did not stick"; exit 1; }
	done
fi
log "building bzImage with $JOBS jobs"
timeout 3000 make -s -j"$JOBS" bzImage > build.log 2>&1 || { tail -30 build.log >&2; exit 1; }
echo "$SRC/arch/x86/boot/bzImage"
