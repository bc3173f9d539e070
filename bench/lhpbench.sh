#!/bin/sh
# SPDX-License-Identifier: MIT
# lhpbench: DFT (off) vs BAL (bal) vs SBCO (sbco) side by side on synthetic VMs (bench/lhpvm:
# threads named "CPU i/KVM" doing spin-lock critical sections), driven by the real sbcod,
# with interleaved repetitions (the order of the three modes rotates every repetition).
# Each run starts sbcod (config: everything off except this run's VMs, "lhp-*", in the
# run's mode), CPU hogs pinned per CPU, and the VMs; measures for SECS; stops all of it.
#
# Scenarios (NCPU = online CPUs; every VM has NCPU vCPUs):
#   spin-qN     two lock VMs (2 vCPUs per CPU) + N-2 hogs per CPU: average queue length N
#   dedup-qN    the same with a spin barrier every 50 ops (Parsec dedup's pipeline)
#   disturb-kK  one lock VM + K saturating VMs (SPECjbb-like, also managed): queue 1+K
#   fair        four saturating VMs; each VM's vCPU CPU time sampled every second: the
#               maximum absolute lag between VMs per window of 1, 5, 10, 30, 120 s and its
#               relative standard deviation (only windows that fit in SECS)
# Per run: VM ops/s (sum), share of vCPU time spinning, involuntary context switches/s,
# stacking and threshold-exceed shares from sbcod's per-VM counters, sbcod's CPU (% of one
# core). Output in OUT (default bench/results): runs.csv (every run), summary.md (median and
# min-max per scenario and mode, ratios of medians), plots (gnuplot, PNG and SVG).
#
# usage: bench/lhpbench.sh BUILD quick|full|SCENARIO...
#   quick: spin-q4 (5 x 2 s per mode) and fair (1 x 6 s): a smoke run for `make check`
#   full:  spin-q2,4,6,8, dedup-q4, disturb-k1..5 (5 x 10 s), fair (2 x 130 s)
# Environment: LHP_REPS, LHP_SECS, LHP_FAIR_SECS, LHP_OUT. Needs root (sbcod, debugfs).
set -u
B=${1:-build}
shift || true
[ $# -gt 0 ] || set -- quick
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../tests/lib/debugfs.sh"
OUT=${LHP_OUT:-$HERE/results}
NCPU=$(nproc)
case "$1" in
quick)
	SCEN="spin-q4 fair"; REPS=${LHP_REPS:-5}; SECS=${LHP_SECS:-2}; FSECS=${LHP_FAIR_SECS:-6}
	FREPS=1 ;;
full)
	SCEN="spin-q2 spin-q4 spin-q6 spin-q8 dedup-q4 disturb-k1 disturb-k2 disturb-k3 disturb-k4 disturb-k5 fair"
	REPS=${LHP_REPS:-5}; SECS=${LHP_SECS:-10}; FSECS=${LHP_FAIR_SECS:-130}; FREPS=2 ;;
*)
	SCEN="$*"; REPS=${LHP_REPS:-5}; SECS=${LHP_SECS:-10}; FSECS=${LHP_FAIR_SECS:-$SECS}
	FREPS=$REPS ;;
esac
for f in "$B/bench/lhpvm" "$B/tests/fakevm" "$B/sbcod" "$B/sbcoctl" "$B/tests/notify_listen"; do
	[ -x "$f" ] || { echo "lhpbench: $f not built (make all bench)" >&2; exit 1; }
done
W=$(mktemp -d /tmp/sbco-lhp.XXXXXX)
# a private copy of the binaries: a rebuild during a long run cannot change or break it
mkdir -p "$W/b/tests" "$W/b/bench"
for f in sbcod sbcoctl tests/notify_listen tests/fakevm bench/lhpvm; do cp "$B/$f" "$W/b/$f"; done
B=$W/b
PIDS=""
SBCOD=
cleanup() {
	for p in $PIDS $SBCOD; do kill "$p" 2> /dev/null; done
	sleep 0.3
	for p in $PIDS $SBCOD; do kill -9 "$p" 2> /dev/null; done
	wait 2> /dev/null
	rm -rf "$W"
	debugfs_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$OUT"
. "$HERE/../tests/lib/sbcod_start.sh"
HZ=$(getconf CLK_TCK)
RUNS=$OUT/runs.csv
FAIR=$OUT/fair.csv
echo "scenario,param,mode,rep,ops_per_s,spin_frac,nivcsw_per_s,stacked_pct,exceeded_pct,sbcod_cpu_pct" > "$RUNS"
echo "mode,rep,period_s,windows,max_abs_lag_ms,rsd" > "$FAIR"

now_ms() { date +%s%3N; }
sbcod_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }

# hogs N: N spinning threads pinned on every CPU (not vCPU-named: no VM, never steered)
hogs() {
	local c h i
	[ "$1" -gt 0 ] || return 0
	c=0
	while [ $c -lt "$NCPU" ]; do
		"$B/tests/fakevm" -name "guest=hog$c" -smp "$1" -mode spin -fmt "hog%d" \
			-time $((RUN_SECS + 5)) > "$W/hog$c.out" 2>&1 &
		h=$!
		PIDS="$PIDS $h"
		i=0
		while [ $i -lt 50 ] && ! grep -q '^ready' "$W/hog$c.out"; do sleep 0.02; i=$((i + 1)); done
		taskset -a -p -c "$c" "$h" > /dev/null || echo "lhpbench: cannot pin hog $h" >&2
		c=$((c + 1))
	done
}

# vm NAME WORK: one synthetic VM with NCPU vCPUs, output in $W/NAME.out
vm() {
	"$B/bench/lhpvm" -name "guest=$1" -smp "$NCPU" -work "$2" -time "$RUN_SECS" -warmup 1 \
		> "$W/$1.out" 2> "$W/$1.err" &
	PIDS="$PIDS $!"
	VMPIDS="$VMPIDS $!"
}

# Per-VM counters of sbcod's metrics summed over the lhp-* VMs: busy stacked exceeded
counters() {
	"$B/sbcoctl" --socket "$W/sock" metrics 2> /dev/null | awk '
		/^sbco_vm_busy_samples_total\{vm="lhp-/ { b += $NF }
		/^sbco_vm_stacked_samples_total\{vm="lhp-/ { s += $NF }
		/^sbco_vm_exceeded_samples_total\{vm="lhp-/ { e += $NF }
		END { printf "%d %d %d\n", b, s, e }'
}

# CPU seconds of every lhp VM's vCPU threads, one "name ns" line each
vm_cpu() {
	local p n s t x
	for p in $VMPIDS; do
		n=$(tr '\0' ' ' < "/proc/$p/cmdline" 2> /dev/null | sed -n 's/.*guest=\([^ ]*\).*/\1/p')
		s=0
		for t in /proc/"$p"/task/*; do
			grep -q '^CPU ' "$t/comm" 2> /dev/null || continue
			read -r x _ < "$t/schedstat" 2> /dev/null && s=$((s + x))
		done
		echo "$n $s"
	done
}

# run SCENARIO PARAM MODE REP
run() {
	local scen param mode rep w k x p t0 t1 k0 k1 busy stacked exceeded i start
	scen=$1; param=$2; mode=$3; rep=$4
	RUN_SECS=$SECS
	[ "$scen" = fair ] && RUN_SECS=$((FSECS + 4)) # alive past the last sample
	VMPIDS=""
	PIDS=""
	cat > "$W/sbco.json" << EOF
{"libvirt_uri": null, "mode": "off", "interval_ms": 250,
 "vms": [{"match": "lhp-*", "mode": "$mode"}]}
EOF
	sbcod_start "$W/sbco.json" "$W/sbcod.log" || { tail "$W/sbcod.log"; echo "lhpbench: sbcod not READY" >&2; return 1; }
	case "$scen" in
	spin | dedup)
		hogs $((param - 2))
		w=lock
		[ "$scen" = dedup ] && w=barrier
		vm lhp-a $w
		vm lhp-b $w ;;
	disturb)
		hogs 0
		vm lhp-a lock
		k=1
		while [ $k -le "$param" ]; do vm "lhp-d$k" hog; k=$((k + 1)); done ;;
	fair)
		for x in a b c d; do vm "lhp-$x" hog; done ;;
	esac
	t0=$(now_ms)
	k0=$(sbcod_ticks "$SBCOD")
	if [ "$scen" = fair ]; then # one sample a second of each VM's CPU time, on the clock
		sleep 1 # lhpvm's warm-up
		: > "$W/fair.samples"
		start=$(now_ms)
		i=0
		while [ $i -le "$FSECS" ]; do
			vm_cpu | sed "s/^/$i /" >> "$W/fair.samples"
			[ "$(grep -c "^$i " "$W/fair.samples")" = 4 ] ||
				{ echo "lhpbench: fair sample $i lacks a VM" >&2; return 1; }
			i=$((i + 1))
			sleep "$(awk -v t="$((start + i * 1000))" -v n="$(now_ms)" \
				'BEGIN { d = (t - n) / 1000; printf "%.3f", (d > 0 ? d : 0) }')"
		done
	else # sbcod forgets a VM when it ends: read its counters just before
		sleep "$(awk -v s="$RUN_SECS" 'BEGIN { print s + 1 - 0.3 }')"
	fi
	t1=$(now_ms)
	k1=$(sbcod_ticks "$SBCOD")
	set -- $(counters)
	busy=${1:-0}; stacked=${2:-0}; exceeded=${3:-0}
	[ -n "${LHP_DEBUG:-}" ] && echo "lhpbench: counters busy $busy stacked $stacked exceeded $exceeded" >&2
	for p in $VMPIDS; do wait "$p"; done
	kill "$SBCOD"
	wait "$SBCOD" 2> /dev/null
	SBCOD=
	for p in $PIDS; do kill "$p" 2> /dev/null; done
	wait 2> /dev/null
	PIDS=""
	cat "$W"/lhp-*.out | awk -v s="$scen" -v p="$param" -v m="$mode" -v r="$rep" \
		-v busy="$busy" -v st="$stacked" -v ex="$exceeded" \
		-v cpu="$(echo "$k0 $k1 $t0 $t1 $HZ" | awk '{printf "%.3f", ($2 - $1) / $5 * 100000 / ($4 - $3)}')" '
		/^lhpvm / {
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			if (v["name"] ~ /^lhp-d/) next  # disturbing VMs: only the measured VM counts
			ops += v["ops_per_s"]; spin += v["spin_frac"]; n++
			iv += v["nivcsw"] / v["secs"]
		}
		END {
			if (!n) exit 1
			printf "%s,%s,%s,%d,%.1f,%.4f,%.1f,%.2f,%.2f,%s\n", s, p, m, r, ops, spin / n, iv,
				busy ? 100 * st / busy : 0, busy ? 100 * ex / busy : 0, cpu
		}' >> "$RUNS" || { echo "lhpbench: no lhpvm result for $scen $param $mode $rep" >&2; return 1; }
	[ "$scen" = fair ] && fairness "$mode" "$rep"
	rm -f "$W"/lhp-*.out "$W"/hog*.out
	return 0
}

# fairness MODE REP: from $W/fair.samples ("sec vm cpu_ns"), per window length P the
# largest |VM CPU - mean VM CPU| over VMs in each non-overlapping window, then the mean of
# those maxima (ms) and their relative standard deviation
fairness() {
	local P
	for P in 1 5 10 30 120; do
		[ "$P" -le "$FSECS" ] || continue
		awk -v P="$P" -v m="$1" -v r="$2" '
			{ c[$1 " " $2] = $3; vms[$2] = 1; if ($1 > T) T = $1 }
			END {
				for (t = 0; t + P <= T; t += P) {
					sum = 0; n = 0
					for (v in vms) { d[v] = c[(t + P) " " v] - c[t " " v]; sum += d[v]; n++ }
					mean = sum / n; mx = 0
					for (v in vms) { x = d[v] - mean; if (x < 0) x = -x; if (x > mx) mx = x }
					lag[w++] = mx / 1e6
				}
				if (!w) exit
				for (i = 0; i < w; i++) s += lag[i]
				mu = s / w
				for (i = 0; i < w; i++) q += (lag[i] - mu) ^ 2
				printf "%s,%d,%d,%d,%.2f,%.3f\n", m, r, P, w, mu, mu ? sqrt(q / w) / mu : 0
			}' "$W/fair.samples" >> "$FAIR"
	done
}

echo "lhpbench: $NCPU CPUs, scenarios: $SCEN; $REPS reps x $SECS s (fair: $FREPS x $FSECS s), modes interleaved" >&2
for s in $SCEN; do
	scen=${s%%-*}
	param=${s#*-}
	param=${param#q}
	param=${param#k}
	[ "$scen" = fair ] && param=4
	n=$REPS
	[ "$scen" = fair ] && n=$FREPS
	rep=1
	while [ $rep -le "$n" ]; do
		case $((rep % 3)) in # rotate the order: no mode always first or last
		1) order="off bal sbco" ;;
		2) order="bal sbco off" ;;
		0) order="sbco off bal" ;;
		esac
		for m in $order; do
			run "$scen" "$param" "$m" "$rep" || exit 1
			echo "lhpbench: $s $m rep $rep: $(tail -1 "$RUNS")" >&2
		done
		rep=$((rep + 1))
	done
done
sh "$HERE/lhpsummary.sh" "$OUT"
