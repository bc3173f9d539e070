#!/bin/sh
# SPDX-License-Identifier: MIT
# Stacking and threshold-exceed probability (analogues of the SBCO paper's Tables I and II)
# and spin-lock throughput for off / bal / sbco, side by side on real threads: two
# synthetic 2-vCPU spin-lock VMs plus one hog pinned per CPU, SECS seconds per mode, ROUNDS
# rounds (modes alternate within each round). Then the same VMs pinned apart by hand (vCPU
# k on CPU k, so off and sbco place them alike) with 2 hogs per CPU, off vs sbco for each
# lever: what distance balancing alone does. Last, the quietest form this host allows: the
# sampler SCHED_FIFO (out of the fair queues, as sbcod runs), the VMs without their helper
# threads, one hog per CPU, so each queue holds the same 3 tasks throughout; policy_live
# also reports how often a VM's relative phase is the same as one cycle before.
# usage: bench/policy.sh BUILD [SECS [ROUNDS]]
set -u
B=${1:-build}
SECS=${2:-10}
ROUNDS=${3:-3}
. "$(dirname "$0")/../tests/lib/debugfs.sh"
i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "round $i:"
	timeout $((SECS * 3 + 60)) "$B/tests/policy_live" "$B" "$SECS" | grep '^mode'
	i=$((i + 1))
done
for lever in slice nice; do
	echo "pinned apart, 2 hogs per CPU, lever $lever, $ROUNDS rounds of off / sbco:"
	SBCO_HOGS=2,2 SBCO_LEVER=$lever timeout $((SECS * 2 * ROUNDS + 60)) \
		"$B/tests/policy_live" "$B" "$SECS" --pinned-apart "$ROUNDS" | grep -E '^(mode|total|FAIL)'
done
echo "quiet: sampler SCHED_FIFO 1, no helper threads, 1 hog per CPU, lever slice, $ROUNDS rounds of off / sbco:"
SBCO_QUIET=1 SBCO_HOGS=1,1 SBCO_LEVER=slice timeout $((SECS * 2 * ROUNDS + 60)) \
	chrt -f -R 1 "$B/tests/policy_live" "$B" "$SECS" --pinned-apart "$ROUNDS" |
	grep -E '^(mode|total|FAIL)'
