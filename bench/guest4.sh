#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 5's quiet-host attempt (bench/RESULTS.md, "Session 7"): distance balancing off vs
# sbco on a 4-CPU machine this 2-CPU host can only emulate. The patched test kernel
# (kernel/build.sh) boots under QEMU TCG, never KVM, with 4 virtual CPUs on single-threaded
# TCG and a virtual clock driven by the instruction count (-icount shift=0,sleep=off), so
# host preemption does not disturb the guest's time. policy_live --pinned-apart keeps guest
# CPUs 0-1 for the two synthetic VMs and the hogs, and runs the sampler and the VMs' helper
# threads on CPUs 2-3 (housekeeping).
# usage: bench/guest4.sh BUILD [SECS [ROUNDS [LEVER [HOGS]]]]
#   LEVER: kernel (default: the best the engine finds), slice, weight or nice
#   HOGS: hog threads on CPU 0 and 1, "N,M" (default 1,1); SBCO_TRACE=1 prints every cycle
set -eu
B=${1:-build}
SECS=${2:-4}
ROUNDS=${3:-3}
LEVER=${4:-kernel}
HOGS=${5:-1,1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/sbco-guest4.XXXXXX)
trap '[ -n "${GUEST4_KEEP:-}" ] && cp "$T/log" "$GUEST4_KEEP"; rm -rf "$T"' EXIT
IMG=$(sh "$ROOT/kernel/build.sh" "$ROOT/$B/kernel")
sh "$ROOT/kernel/initramfs.sh" "$B" "$T/initramfs.cpio.gz"
ARGS="policy=$SECS,$ROUNDS hogs=$HOGS"
[ "$LEVER" = kernel ] || ARGS="$ARGS lever=$LEVER"
[ "${SBCO_TRACE:-0}" = 1 ] && ARGS="$ARGS trace=1"
t0=$(date +%s)
timeout $((SECS * ROUNDS * 2 * 40 + 300)) qemu-system-x86_64 -accel tcg,thread=single \
	-icount shift=0,sleep=off -smp 4,sockets=4,cores=1,threads=1 -m 512 -nographic \
	-no-reboot -kernel "$IMG" -initrd "$T/initramfs.cpio.gz" \
	-append "console=ttyS0 quiet oops=panic panic=-1 $ARGS" < /dev/null > "$T/log" 2>&1 || true
echo "guest4: $ARGS: $(($(date +%s) - t0)) s"
tr -d '\r' < "$T/log" | sed -n 's/.*KTEST \(BOOT\|POLICY\)/\1/p'
tr -d '\r' < "$T/log" | grep -q 'KTEST END' || { echo "guest4: the guest did not finish"; exit 1; }
