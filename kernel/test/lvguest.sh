#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the sbco test kernel (kernel/libvirt.sh), chrooted into the host's root
# (read-only over virtio 9p, tmpfs over /run, /tmp and libvirt's directories): a real
# libvirtd, two TCG domains of 2 vCPUs (the test kernel again, spinning in the guest's
# user space) and one hog per CPU, then sbcod on them in phases off / bal / sbco (the
# kernel lends at its picks, balance.kernel_pick "lend"), ROUNDS rounds of SECS each.
# Prints, prefixed "KTEST LIBVIRT" by the caller:
#   phase MODE ROUND: samples S exceeded E loans L stacked K   (the kernel's exact counts
#                     at its picks, summed over both VMs, for the measured window)
#   pin MODE ROUND: DOM VCPU CPUS ...   (libvirt's vcpupin while sbcod runs)
#   restored DOM: VCPU CPUS ...         (after sbcod ended)
#   fail: WHY                           (a step did not work; the caller counts it)
# usage: lvguest.sh BUILD_DIR [SECS [ROUNDS]]     (BUILD_DIR absolute, on the host's root)
set -u
B=$1
SECS=${2:-20}
ROUNDS=${3:-2}
fail() { echo "fail: $*"; }
now() { cut -d. -f1 /proc/uptime; }

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/libvirt/env.sh"
LV_PREFIX=klv
LV_WORK=/tmp/lv
mkdir -p "$LV_WORK"
# no seccomp in this kernel: QEMU without its sandbox
LV_QEMU_CONF="seccomp_sandbox = 0"
LV_START_SECS=900
LV_POLL5=25 # every 5 s: each virsh costs this emulated CPU dearly
if [ "${SBCO_LVTRACE:-0}" = 1 ]; then # what runs, every 30 s
	(while :; do sleep 30; echo "ps at $(now) s:"; ps -eo pid,etime,time,args | grep -v ' \[' | tail -n +2 | cut -c1-150; done) &
	MON=$!
	trap 'kill $MON' EXIT
fi
LV_BOOT_SECS=900
lv_isolate || { fail "isolating libvirt's directories"; exit 1; }
mkdir -p /var/lib/libvirt/images
cp "$B/kernel/lv/sbco-vmlinuz" "$B/kernel/lv/sbco-initramfs.cpio.gz" /var/lib/libvirt/images/
t0=$(now)
lv_libvirtd_start || { fail "libvirtd"; exit 1; }
echo "libvirtd up in $(($(now) - t0)) s: $($LV_VIRSH version 2> /dev/null | grep -i 'running hypervisor')"
# one after the other (faster than both at once here); lockdep's proofs off in the domains
for d in klvA klvB; do
	t0=$(now)
	lv_define $d 2 lockdep.prove_locking=0 || { fail "define $d"; exit 1; }
	lv_start $d || { fail "start $d"; tail -5 "/var/log/libvirt/qemu/$d.log"; exit 1; }
	echo "$d booted in $(($(now) - t0)) s: $(grep -o 'BOOT-OK.*' "/var/log/libvirt/qemu/$d-serial.log" | tr -d '\r')"
done
pins() { # libvirt's view of every vCPU's affinity: "DOM VCPU CPUS ..."
	for d in klvA klvB; do
		$LV_VIRSH vcpupin "$d" 2> /dev/null | awk -v d="$d" '$1 ~ /^[0-9]+$/ { printf " %s %s %s", d, $1, $2 }'
	done
	echo
}
echo "original pinning:$(pins)"
ORIG=$(pins)
# one hog per CPU: queues of 3 when the four vCPUs are spread two per CPU
HOGS=""
for c in 0 1; do
	taskset -c $c sh -c 'while :; do :; done' &
	HOGS="$HOGS $!"
done

counts() { # "SAMPLES EXCEEDED LOANS STACKED", summed over the registered VMs
	awk '/^vm / { for (i = 1; i < NF; i++) { if ($i == "samples") s += $(i + 1);
		if ($i == "exceeded") e += $(i + 1); if ($i == "loans") l += $(i + 1);
		if ($i == "stacked") k += $(i + 1) } n++ }
		END { printf "%d %d %d %d %d\n", s, e, l, k, n }' /proc/sbco/vm
}
phase() { # $1 = mode, $2 = round
	printf '{"libvirt_uri": "qemu:///system", "interval_ms": 250, "mode": "%s"}\n' "$1" > /tmp/sbco.json
	"$B/sbcod" -f -c /tmp/sbco.json > "/tmp/sbcod-$1-$2.log" 2>&1 &
	sp=$!
	i=0
	until [ "$(counts | cut -d' ' -f5)" = 2 ]; do
		i=$((i + 1))
		if [ $i -gt 120 ] || ! kill -0 $sp 2> /dev/null; then
			fail "$1: sbcod did not register both VMs in 60 s"; tail -5 "/tmp/sbcod-$1-$2.log"
			kill $sp 2> /dev/null; wait $sp; return
		fi
		sleep 0.5
	done
	sleep 3 # the first cycles place the vCPUs
	set -- "$1" "$2" $(counts)
	sleep "$SECS"
	set -- "$@" $(counts)
	echo "pin $1 $2:$(pins)"
	echo "phase $1 $2: samples $(($8 - $3)) exceeded $(($9 - $4)) loans $((${10} - $5)) stacked $((${11} - $6))"
	kill -TERM $sp
	i=0
	while kill -0 $sp 2> /dev/null; do
		i=$((i + 1))
		[ $i -lt 60 ] || { fail "$1: sbcod did not end in 30 s"; kill -9 $sp; break; }
		sleep 0.5
	done
	wait $sp || fail "$1: sbcod exited $?"
	[ "$(pins)" = "$ORIG" ] || fail "$1: pinning not restored:$(pins)"
	grep -E 'error|warn' "/tmp/sbcod-$1-$2.log" | head -3
}
r=1
while [ $r -le "$ROUNDS" ]; do
	for m in off bal sbco; do phase $m $r; done
	r=$((r + 1))
done
echo "restored:$(pins)"
kill $HOGS
lv_cleanup
echo "done"
