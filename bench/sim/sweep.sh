#!/bin/sh
# SPDX-License-Identifier: MIT
# The simulator's sweeps (bench/sim/README.md): every run is one sbcosim line, kept as a row
# of OUT/sim-runs.csv; bench/sim/summary.sh then writes OUT/sim-summary.md (tables) and the
# plots OUT/sim-*.png / .svg.
#   validate  lhpbench's scenarios on its 2-CPU host (spin-q2..q8, dedup-q4, disturb-k1..k5,
#             fair), off / bal / sbco, seeds 1..VSEEDS: predicted against bench/results/runs.csv
#   table1    the paper's Table I setups (8 CPUs, 2-4 VMs of 4 vCPUs): stacking under off,
#             EEVDF and CFS (param suffix -cfs)
#   table2    threshold-exceed at queue sizes 6 and 10 (alpha 2/3) under off, EEVDF and CFS
#   queue     queue length 2..12 (8 CPUs, four 4-vCPU lock VMs + hogs), the three modes
#   alpha     alpha 1/3 .. 1 in mode sbco (64 CPUs, queue ~6)
#   interval  policy interval 1 .. 250 ms, slice lever (userspace) and the kernel patch's loan
#             with its exact ordinates, as the patch does it (the lender's CPU re-picks at
#             once) and lazily (--lend-lazy: the lender keeps its turn), 8 CPUs at queue 6
#   hosts     8, 64 and 256 CPUs with ~7.8 vCPUs per CPU (4-vCPU lock VMs), three modes
#   speed     the issue's target: 256 CPUs, 500 four-vCPU VMs, 60 s, each mode
# usage: bench/sim/sweep.sh SBCOSIM OUT [SWEEP...]   (default: all)
# Environment: SIM_SECS (10), SIM_SEEDS (5), SIM_VAL_SEEDS (10, validate), SIM_HOST_SECS (20).
set -u
S=$1
OUT=$2
shift 2
[ $# -gt 0 ] || set -- validate table1 table2 queue alpha interval hosts speed
SECS=${SIM_SECS:-10}
SEEDS=${SIM_SEEDS:-5}
VSEEDS=${SIM_VAL_SEEDS:-10}
HSECS=${SIM_HOST_SECS:-20}
mkdir -p "$OUT"
CSV=$OUT/sim-runs.csv
COLS="scenario mode lever sched cpus vms vcpus alpha interval_ms seed sim_s wall_s cpu_s speed ops_per_s spin_of_run nivcsw_per_s lhp_per_s stacked_pct exceeded_pct exceeded_any_pct corun_pct samples cycles actions action_errors policy_ms_per_cycle migrations fair_lag_ms"
[ -s "$CSV" ] || echo "sweep,param,$(echo $COLS | tr ' ' ',')" > "$CSV"

# run SWEEP PARAM ARGS...: one simulation, one CSV row
run() {
	local sw=$1 pa=$2 line
	shift 2
	line=$("$S" "$@") || { echo "sweep: sbcosim $* failed" >&2; exit 1; }
	echo "$line" | awk -v sw="$sw" -v pa="$pa" -v cols="$COLS" '{
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		n = split(cols, c, " "); printf "%s,%s", sw, pa
		for (i = 1; i <= n; i++) printf ",%s", v[c[i]]
		printf "\n" }' >> "$CSV"
}

seeds() { seq 1 "$SEEDS"; }

for sw in "$@"; do
	# a sweep run again replaces its rows
	awk -F, -v sw="$sw" 'NR == 1 || $1 != sw' "$CSV" > "$CSV.tmp" && mv "$CSV.tmp" "$CSV"
	echo "sweep: $sw ($(uptime | sed 's/.*load/load/'))" >&2
	case $sw in
	validate)
		for sc in spin-q2 spin-q4 spin-q6 spin-q8 dedup-q4 disturb-k1 disturb-k2 \
			disturb-k3 disturb-k4 disturb-k5 fair; do
			for seed in $(seq 1 "$VSEEDS"); do
				for m in off bal sbco; do
					run validate "$sc" --scenario "$sc" --mode "$m" --seed "$seed" \
						--seconds "$SECS"
				done
			done
		done ;;
	table1) # EEVDF (6.18) and, as in the paper's time, CFS
		for sc in table1-lock2 table1-lock3 table1-lock4 table1-hog2 table1-hog3 \
			table1-hog4; do
			for seed in $(seeds); do
				for m in off bal sbco; do
					run table1 "$sc" --scenario "$sc" --mode "$m" --seed "$seed" \
						--seconds $((SECS * 3))
					run table1 "$sc-cfs" --scenario "$sc" --mode "$m" --seed "$seed" \
						--seconds $((SECS * 3)) --cfs
				done
			done
		done ;;
	table2)
		for q in 6 10; do
			for seed in $(seeds); do
				for m in off bal sbco; do
					run table2 "$q" --scenario "table2-q$q" --mode "$m" --seed "$seed" \
						--seconds $((SECS * 3))
					run table2 "$q-cfs" --scenario "table2-q$q" --mode "$m" \
						--seed "$seed" --seconds $((SECS * 3)) --cfs
				done
			done
		done ;;
	queue)
		for q in 2 3 4 6 8 10 12; do
			for seed in $(seeds); do
				for m in off bal sbco; do
					run queue "$q" --scenario "table2-q4" --hogs $((q - 2)) \
						--mode "$m" --seed "$seed" --seconds "$SECS"
				done
			done
		done ;;
	alpha)
		for a in 0.333 0.5 0.667 0.833 1; do
			for seed in $(seeds); do
				run alpha "$a" --cpus 64 --vms 64 --vcpus 4 --hogs 2 --mode sbco \
					--alpha "$a" --seed "$seed" --seconds "$SECS"
			done
		done
		for seed in $(seeds); do
			for m in off bal; do
				run alpha "$m" --cpus 64 --vms 64 --vcpus 4 --hogs 2 --mode "$m" \
					--seed "$seed" --seconds "$SECS"
			done
		done ;;
	interval)
		for iv in 1 2 5 10 25 50 100 250; do
			for seed in $(seeds); do
				run interval "$iv" --scenario table2-q6 --mode sbco --lever slice \
					--interval-ms "$iv" --seed "$seed" --seconds "$SECS"
				run interval "$iv" --scenario table2-q6 --mode sbco --lever kernel \
					--kernel-ord --interval-ms "$iv" --seed "$seed" --seconds "$SECS"
				run interval "$iv" --scenario table2-q6 --mode sbco --lever kernel \
					--kernel-ord --lend-lazy --interval-ms "$iv" --seed "$seed" \
					--seconds "$SECS"
			done
		done
		for seed in $(seeds); do
			for m in off bal; do
				run interval "$m" --scenario table2-q6 --mode "$m" --seed "$seed" \
					--seconds "$SECS"
			done
		done ;;
	hosts)
		for c in 8 64 256; do
			for seed in 1 2; do
				for m in off bal sbco; do
					run hosts "$c" --cpus "$c" --vms $((c * 125 / 64)) --vcpus 4 \
						--mode "$m" --seed "$seed" --seconds "$HSECS"
				done
			done
		done ;;
	speed)
		for m in off bal sbco; do
			run speed "$(uptime | sed 's/.*average: \([0-9.]*\).*/\1/')" --scenario big \
				--mode "$m"
		done ;;
	*)
		echo "sweep: unknown sweep '$sw'" >&2
		exit 2 ;;
	esac
done
sh "$(dirname "$0")/summary.sh" "$OUT"
