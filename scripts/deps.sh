#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages sbco needs to build, test and run. Idempotent: it only
# calls apt-get when a package is missing, and runs `apt-get update` first when it does.
# usage: scripts/deps.sh [build|check|run|deb|all]   (default: all)
set -eu
WHAT=${1:-all}

BUILD="build-essential pkg-config libvirt-dev libcgroup-dev libnl-3-dev libnl-genl-3-dev \
libnl-route-3-dev libcjson-dev libsystemd-dev libxml2-dev libcmocka-dev clang clang-format \
libclang-rt-14-dev scdoc"
CHECK="valgrind libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 \
busybox-static cpio linux-image-amd64 util-linux procps systemd man-db tmux jq gnuplot-nox \
linux-source-6.12 bc flex bison libelf-dev libssl-dev xz-utils patch debhelper dpkg-dev \
fakeroot lintian llvm-14 strace"
RUN="libvirt-clients"
DEB="build-essential debhelper dpkg-dev fakeroot lintian pkg-config libvirt-dev libcgroup-dev \
libnl-3-dev libcjson-dev libsystemd-dev libxml2-dev libcmocka-dev scdoc"

case "$WHAT" in
build) PKGS=$BUILD ;;
check) PKGS="$BUILD $CHECK" ;;
run) PKGS="$BUILD $RUN" ;;
deb) PKGS=$DEB ;;
all) PKGS="$BUILD $CHECK $RUN" ;;
*) echo "deps.sh: unknown set '$WHAT' (build|check|run|deb|all)" >&2; exit 2 ;;
esac

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing; run as root (or: sudo $0 $WHAT)" >&2
	exit 1
fi
echo "deps.sh: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
timeout 900 apt-get update -q
# shellcheck disable=SC2086
timeout 1800 apt-get install -y -q --no-install-recommends $missing
