#!/bin/sh
# SPDX-License-Identifier: MIT
# The short form of the host simulator (bench/sim) in `make check`: builds sbcosim, runs
# its pick-rule self-test, then lhpbench's spin-q4 and dedup-q4 scenarios for 4 simulated
# seconds per mode over seeds 1-6 and checks behaviour, not speed: the default scheduler
# stacks siblings in some seeds' samples while bal and sbco never do, sbco's policy cycles
# apply actions through the real libsbco, the same seed gives the same line, and a 16-CPU
# host with 40 VMs runs in every mode. Exit 0 pass, 1 fail, 77 skip.
set -u
B=${1:-build}
[ -f "$B/libsbco.a" ] || { echo "SKIP: $B/libsbco.a not built"; exit 77; }
make --no-print-directory -f bench/bench.mk BUILD="$B" "$B/bench/sbcosim" > /dev/null ||
	{ echo "FAIL: cannot build sbcosim"; exit 1; }
S=$B/bench/sbcosim
O=$(mktemp -d /tmp/sbco-simq.XXXXXX)
trap 'rm -rf "$O"' EXIT
"$S" --selftest || { echo "FAIL: selftest"; exit 1; }
for sc in spin-q4 dedup-q4; do
	for seed in 1 2 3 4 5 6; do
		for m in off bal sbco; do
			"$S" --scenario "$sc" --mode "$m" --seed "$seed" --seconds 4 >> "$O/runs" ||
				{ echo "FAIL: $sc $m seed $seed"; exit 1; }
		done
	done
done
cat "$O/runs"
val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
off=$(grep 'mode=off' "$O/runs" | val stacked_pct | awk '{ s += $1 } END { print s + 0 }')
managed=$(grep -v 'mode=off' "$O/runs" | val stacked_pct | awk '{ s += $1 } END { print s + 0 }')
echo "stacked: off sum $off %, bal+sbco sum $managed %"
awk -v o="$off" 'BEGIN { exit !(o > 0) }' || { echo "FAIL: the default scheduler never stacked"; exit 1; }
[ "$managed" = 0 ] || { echo "FAIL: stacking under bal or sbco"; exit 1; }
grep 'mode=sbco' "$O/runs" | val actions | awk '{ s += $1 } END { exit !(s > 0) }' ||
	{ echo "FAIL: sbco applied no action"; exit 1; }
grep 'mode=sbco' "$O/runs" | val action_errors | awk '$1 != 0 { bad = 1 } END { exit bad }' ||
	{ echo "FAIL: sbco actions refused"; exit 1; }
grep -v 'ops_per_s=[1-9]' "$O/runs" && { echo "FAIL: a run without throughput"; exit 1; }
a=$("$S" --scenario spin-q4 --mode sbco --seed 7 --seconds 3 | sed 's/ wall_s=[^ ]* cpu_s=[^ ]* speed=[^ ]*//; s/ policy_ms_per_cycle=[^ ]*//')
b=$("$S" --scenario spin-q4 --mode sbco --seed 7 --seconds 3 | sed 's/ wall_s=[^ ]* cpu_s=[^ ]* speed=[^ ]*//; s/ policy_ms_per_cycle=[^ ]*//')
[ "$a" = "$b" ] || { echo "FAIL: not deterministic:"; echo "$a"; echo "$b"; exit 1; }
c=$("$S" --scenario spin-q4 --mode sbco --seed 8 --seconds 3 | sed 's/ wall_s=[^ ]* cpu_s=[^ ]* speed=[^ ]*//; s/ policy_ms_per_cycle=[^ ]*//')
[ "$a" != "$c" ] || { echo "FAIL: the seed changes nothing"; exit 1; }
for m in off bal sbco; do
	l=$("$S" --cpus 16 --vms 40 --vcpus 4 --hogs 1 --mode "$m" --seconds 2 --warmup 0.5) ||
		{ echo "FAIL: 16-CPU host, $m"; exit 1; }
	echo "$l"
	echo "$l" | grep -q ' vcpus=160 ' || { echo "FAIL: 16-CPU host lost vCPUs"; exit 1; }
	[ "$m" = off ] || echo "$l" | grep -q ' stacked_pct=0.00 ' ||
		{ echo "FAIL: 16-CPU host stacked under $m"; exit 1; }
done
echo PASS
