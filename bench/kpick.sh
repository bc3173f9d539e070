#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 5, Algorithm 1 in the kernel (bench/RESULTS.md): the patched test kernel
# (kernel/build.sh) boots under QEMU TCG (never KVM), 2 CPUs, and runs policy_live
# --pinned-apart (two synthetic 2-vCPU spin-lock VMs, vCPU k on CPU k, hogs on both CPUs;
# off and sbco alternating ROUNDS times). The kernel counts each VM's distance at every
# pick of its vCPUs (/proc/sbco/vm), so the exceed rate is exact. Two variants, one boot
# each per repetition, interleaved:
#   count  balance.kernel_pick "count": sbcod lends through /proc/sbco/lend, the kernel
#          only counts;
#   lend   balance.kernel_pick "lend": the kernel lends at its picks (sbcod does not).
# Prints each boot's kernel totals and, per variant, the pooled off and sbco shares.
# usage: bench/kpick.sh BUILD [REPS [SECS [ROUNDS [HOGS]]]]      (default 3 3 3 2,2)
#   KPICK_INTERVAL=MS: policy_live's sampling period (default 20 ms)
set -eu
B=${1:-build}
REPS=${2:-3}
SECS=${3:-3}
ROUNDS=${4:-3}
HOGS=${5:-2,2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/sbco-kpick.XXXXXX)
trap 'rm -rf "$T"' EXIT
IMG=$(sh "$ROOT/kernel/build.sh" "$ROOT/$B/kernel")
sh "$ROOT/kernel/initramfs.sh" "$B" "$T/initramfs.cpio.gz"
EXTRA=${KPICK_INTERVAL:+interval=$KPICK_INTERVAL}
echo "kpick: $REPS reps x {count, lend}, policy=$SECS,$ROUNDS hogs=$HOGS $EXTRA, 2 CPUs TCG"
for r in $(seq 1 "$REPS"); do
	for v in count lend; do
		timeout $((SECS * ROUNDS * 2 * 20 + 300)) qemu-system-x86_64 -accel tcg,thread=multi \
			-smp 2,sockets=2,cores=1,threads=1 -m 512 -nographic -no-reboot \
			-kernel "$IMG" -initrd "$T/initramfs.cpio.gz" \
			-append "console=ttyS0 quiet oops=panic panic=-1 policy=$SECS,$ROUNDS hogs=$HOGS kpick=$v $EXTRA" \
			< /dev/null > "$T/log" 2>&1 || true
		line=$(tr -d '\r' < "$T/log" | sed -n 's/.*KTEST POLICY kernel total over [0-9]* rounds: //p')
		lent=$(tr -d '\r' < "$T/log" | sed -n 's/.*KTEST POLICY lend: lent \([0-9]*\) .*/\1/p')
		if [ -z "$line" ]; then
			echo "rep $r $v: the guest did not finish"
			tr -d '\r' < "$T/log" | grep -E 'BUG|RIP|KTEST (FAIL|END)' | head -5
			continue
		fi
		echo "rep $r $v: $line; sbcod lent $lent through /proc/sbco/lend"
		echo "$v $line" >> "$T/all"
	done
done
# pooled: "picks over threshold off X % of N, sbco Y % of M (L loans)"
for v in count lend; do
	awk -v v="$v" '$1 == v {
		for (i = 1; i <= NF; i++) {
			if ($i == "off") { po = $(i + 1); no = $(i + 4) }
			if ($i == "sbco") { ps = $(i + 1); ns = $(i + 4) }
		}
		eo += po * no / 100; so += no; es += ps * ns / 100; ss += ns; n++
	} END {
		if (n) printf "%s: %d boots, off %.1f %% of %d picks over the threshold, sbco %.1f %% of %d\n",
			v, n, 100 * eo / so, so, 100 * es / ss, ss
	}' "$T/all"
done
