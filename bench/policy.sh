#!/bin/sh
# SPDX-License-Identifier: MIT
# Stacking and threshold-exceed probability (analogues of the SBCO paper's Tables I and II)
# and spin-lock throughput for off / bal / sbco, side by side on real threads: two
# synthetic 2-vCPU spin-lock VMs plus one hog pinned per CPU, SECS seconds per mode, ROUNDS
# rounds (modes alternate within each round). usage: bench/policy.sh BUILD [SECS [ROUNDS]]
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
