#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 5, Algorithm 1 in the kernel on pure spinners (bench/RESULTS.md): boots the patched
# test kernel (kernel/build.sh) under QEMU TCG (never KVM), 2 CPUs, REPS times per
# thread count and runs kernel/test/ktest, whose pick-time part prints the share of picks
# over the threshold counting and lending in alternating rounds (KTEST PICK) and the
# held-phase experiments (KTEST PHASE: a phase over the threshold found, then counted,
# lent to, counted again). Prints those lines per boot and the pooled PHASE shares.
# usage: bench/ktest.sh BUILD [REPS [THREADS...]]      (default 5, threads 3 4)
set -eu
B=${1:-build}
REPS=${2:-5}
shift 2 2> /dev/null || shift $#
THREADS=${*:-3 4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/sbco-ktest.XXXXXX)
trap 'rm -rf "$T"' EXIT
IMG=$(sh "$ROOT/kernel/build.sh" "$ROOT/$B/kernel")
sh "$ROOT/kernel/initramfs.sh" "$B" "$T/initramfs.cpio.gz"
for n in $THREADS; do
	for r in $(seq 1 "$REPS"); do
		timeout 300 qemu-system-x86_64 -accel tcg,thread=multi \
			-smp 2,sockets=2,cores=1,threads=1 -m 512 -nographic -no-reboot \
			-kernel "$IMG" -initrd "$T/initramfs.cpio.gz" \
			-append "console=ttyS0 quiet oops=panic panic=-1 KTEST_THREADS=$n" \
			< /dev/null > "$T/log" 2>&1 || true
		tr -d '\r' < "$T/log" | sed -n 's/.*\(KTEST \(PICK\|PHASE\|FAIL\|RESULT\).*\)/\1/p' |
			sed "s/^/threads $n rep $r: /" | tee -a "$T/all"
		tr -d '\r' < "$T/log" | grep -q 'KTEST RESULT' || {
			echo "threads $n rep $r: the guest did not finish"
			tr -d '\r' < "$T/log" | grep -E 'BUG|RIP' | head -3
		}
	done
	# pooled over the boots: "held X % of N, lending Y % of M (L loans)"
	awk -v n="$n" '$2 == n && / PHASE total:/ {
		for (i = 1; i <= NF; i++) {
			if ($i == "held" && $(i + 2) == "%") { hp = $(i + 1); hn = $(i + 4) }
			if ($i == "lending" && $(i + 2) == "%") { lp = $(i + 1); ln = $(i + 4); lo = substr($(i + 5), 2) }
		}
		he += hp * hn / 100; hs += hn; le += lp * ln / 100; ls += ln; loans += lo; b++
	} END {
		if (b) printf "threads %d: %d boots, held %.1f %% of %d picks over the threshold, lending %.1f %% of %d (%d loans)\n",
			n, b, 100 * he / hs, hs, 100 * le / ls, ls, loans
	}' "$T/all"
done
