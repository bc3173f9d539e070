#!/bin/sh
# SPDX-License-Identifier: MIT
# The short form of lhpbench in `make check`: bench/lhpbench.sh quick (spin-q4, 5
# interleaved repetitions of off / bal / sbco x 2 s, and the fairness scenario once) into a
# scratch directory. Checks the harness, not performance: every run produced a row with
# throughput, no stacking under bal and sbco, the fairness table, summary.md with ratios,
# and the plots; the numbers are printed. Performance is `make bench` (bench/RESULTS.md).
set -u
B=${1:-build}
[ "$(id -u)" = 0 ] || { echo "SKIP: not root (sbcod, the scheduler dump)"; exit 77; }
O=$(mktemp -d /tmp/sbco-lhpq.XXXXXX)
trap 'rm -rf "$O"' EXIT
LHP_OUT=$O timeout 600 sh bench/lhpbench.sh "$B" quick > "$O/log" 2>&1 ||
	{ tail -30 "$O/log"; echo "FAIL: lhpbench quick"; exit 1; }
cat "$O/summary.md"
n=$(grep -c '^spin,4,' "$O/runs.csv")
[ "$n" = 15 ] || { echo "FAIL: $n spin-q4 runs, expected 15 (5 x 3 modes)"; exit 1; }
awk -F, 'NR > 1 && !($5 > 0) { bad = 1 } END { exit bad }' "$O/runs.csv" ||
	{ echo "FAIL: a run without throughput"; exit 1; }
awk -F, 'NR > 1 && $3 != "off" && $8 > 0 { bad = 1 } END { exit bad }' "$O/runs.csv" ||
	{ grep -v ',off,' "$O/runs.csv"; echo "FAIL: stacking under bal or sbco"; exit 1; }
for m in off bal sbco; do
	grep -q "^$m,1,1," "$O/fair.csv" || { echo "FAIL: no 1 s fairness row for $m"; exit 1; }
	grep -Eq "^\| spin-q4 \| $m \| 5 \|" "$O/summary.md" || { echo "FAIL: summary lacks $m"; exit 1; }
done
grep -Eq '^\| spin-q4 \| sbco \| 5 \| [0-9]+ \| [0-9]+ - [0-9]+ \| [+-][0-9.]+ % \| [+-][0-9.]+ % \|' "$O/summary.md" ||
	{ echo "FAIL: no ratios for sbco"; exit 1; }
for p in spin fair; do
	[ -s "$O/lhpbench-$p.png" ] && [ -s "$O/lhpbench-$p.svg" ] || { echo "FAIL: no $p plot"; exit 1; }
done
echo PASS
