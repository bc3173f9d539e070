#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the sbco test kernel (kernel/libvirt.sh), chrooted into the host's root
# (read-only over virtio 9p, tmpfs over /run, /tmp and libvirt's directories): a real
# libvirtd, two TCG domains of 2 vCPUs (the test kernel again, spinning in the guest's
# user space) and one hog per CPU, then sbcod on them in phases off / bal / sbco (the
# kernel lends at its picks, balance.kernel_pick "lend"), ROUNDS rounds of SECS each.
# Prints, prefixed "KTEST LIBVIRT" by the caller:
#   phase MODE ROUND: samples S exceeded E loans L stacked K any A any_exceeded X
#                     (the kernel's exact counts at its picks, summed over both VMs, for
#                     the measured window: /proc/sbco/vm, struct sbco_vm_counts)
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

tstat() { # every thread: "TID COMM RUN_MS VOLUNTARY INVOLUNTARY" (SCHED_DEBUG's /proc/*/task/*/sched)
	awk 'FNR == 1 { split(FILENAME, f, "/"); t = f[5]; c = $0; sub(/ \([0-9]+, #threads.*/, "", c); gsub(/ /, "_", c); nm[t] = c }
		$1 == "se.sum_exec_runtime" { r[t] = $3 } $1 == "nr_voluntary_switches" { v[t] = $3 }
		$1 == "nr_involuntary_switches" { n[t] = $3 }
		END { for (t in r) print t, nm[t], r[t], v[t], n[t] }' /proc/[0-9]*/task/[0-9]*/sched 2> /dev/null
}
qshow() { # the cfs queues now, each entity named
	tstat > /tmp/tsq
	awk 'NR == FNR { nm[$1] = $2; next } $1 == "cpu" { printf "%squeue cpu %s curr %s(%s):", nl, $2, $4, nm[$4]; nl = "\n"; next }
		{ printf " %s(%s)", $1, nm[$1] } END { print "" }' /tmp/tsq /proc/sbco/queue
}
counts() { # "SAMPLES EXCEEDED LOANS STACKED ANY ANY_EXCEEDED VMS", summed over the VMs
	awk '/^vm / { for (i = 1; i < NF; i++) c[$i] += $(i + 1); n++ }
		END { printf "%d %d %d %d %d %d %d\n", c["samples"], c["exceeded"], c["loans"],
			c["stacked"], c["any"], c["any_exceeded"], n }' /proc/sbco/vm
}
phase() { # $1 = mode, $2 = round
	printf '{"libvirt_uri": "qemu:///system", "interval_ms": %d, "mode": "%s"}\n' \
		"${SBCO_LVINT:-250}" "$1" > /tmp/sbco.json
	"$B/sbcod" -f -c /tmp/sbco.json > "/tmp/sbcod-$1-$2.log" 2>&1 &
	sp=$!
	i=0
	until [ "$(counts | cut -d' ' -f7)" = 2 ]; do
		i=$((i + 1))
		if [ $i -gt 120 ] || ! kill -0 $sp 2> /dev/null; then
			fail "$1: sbcod did not register both VMs in 60 s"; tail -5 "/tmp/sbcod-$1-$2.log"
			kill $sp 2> /dev/null; wait $sp; return
		fi
		sleep 0.5
	done
	sleep 3 # the first cycles place the vCPUs
	[ "${SBCO_LVDIAG:-0}" = 1 ] && tstat > /tmp/ts0
	c0=$(counts)
	if [ "${SBCO_LVDIAG:-0}" = 1 ]; then
		sleep "$((SECS / 2))"; qshow; sleep "$((SECS - SECS / 2))"
	else
		sleep "$SECS"
	fi
	c1=$(counts)
	if [ "${SBCO_LVDIAG:-0}" = 1 ]; then
		tstat > /tmp/ts1
		echo "threads $1 $2 (ms run, voluntary, involuntary switches over the phase):"
		awk 'NR == FNR { r[$1] = $3; v[$1] = $4; n[$1] = $5; next }
			($1 in r) && $3 - r[$1] > 1 { printf "  %s %s %.0f %d %d\n", $1, $2, $3 - r[$1], $4 - v[$1], $5 - n[$1] }' \
			/tmp/ts0 /tmp/ts1 | sort -k3 -n -r | head -30
	fi
	echo "pin $1 $2:$(pins)"
	echo "$c0 $c1" | awk -v p="phase $1 $2:" '{ print p, "samples", $8 - $1, "exceeded", $9 - $2,
		"loans", $10 - $3, "stacked", $11 - $4, "any", $12 - $5, "any_exceeded", $13 - $6 }'
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
