#!/bin/sh
# SPDX-License-Identifier: MIT
# Issue 14, side by side: two 2-vCPU TCG guests running the spin-lock workload (guest
# cmdline "spin", one "spin: ops/s=N" line a second) under an isolated libvirtd (libvirt's
# per-vCPU cgroups; the host's libvirt untouched), no hogs, sbcod steering only them in
# four variants, interleaved over REPS repetitions (the order rotates):
#   off        the default scheduler (sbcod observes only)
#   bal-only   anti-stacking without the stall prevention and response (stall.respond and
#              stall.isolate false: sbco before issue 14)
#   bal-lift   anti-stacking, a stall lifts it at once (stall.rotations 0: the response
#              of session 5)
#   bal-noiso  anti-stacking with the stall response but without its prevention
#              (stall.isolate false: sbco of session 7)
#   bal        anti-stacking with the stall prevention (the VMs' other threads out of
#              their vCPUs' cpu group) and response (rotate the stripes, then lift)
#   sbco       anti-stacking + distance balancing, with the stall prevention and response
# Each variant is a config reload (SIGHUP) then 3 s to settle, then SECS seconds recorded;
# with SIDES_FRESH=1 each run gets a new sbcod instead (nothing learnt of stalls carried
# from the run before, where a reload keeps it: a VM lifted under one variant would start
# the next one lifted).
# Stalls are counted two ways: from the host (a SCHED_FIFO sampler reads the vCPU threads'
# CPU time every second: a VM's second is stalled when one vCPU got < 100 ms and its
# sibling > 400 ms; tests/lib/vcpu_sampler.sh), and from the guests (a second whose ops/s
# line is below 10 % of that guest's median under off, or missing: a stalled guest prints
# late or not at all).
# Output: OUT/stall-sides.csv (every second: variant,rep,second,guest,ops),
# OUT/stall-sides.md (per variant: throughput, stalled share, longest stall, sbcod's own
# stall and lift counts) and OUT/stall-sides.png/svg (per-second series of one repetition).
# usage: bench/stall/sides.sh BUILD [REPS [SECS]]   (root; defaults 3 40)
# env: SIDES_DETECT_MS (stall.detect_ms of sbcod, default its own), STALL_OUT (bench/results),
# SIDES_FRESH (above),
# SIDES_VARIANTS (default "off bal-only bal-noiso bal sbco"; repetition r starts r-1 later)
set -u
B=$(cd "${1:-build}" && pwd)
REPS=${2:-3}
SECS=${3:-40}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
. "$HERE/tests/libvirt/env.sh"
[ -n "${SBCO_IN_NS:-}" ] || LV_PREFIX=sbcoside$$
VARIANTS=${SIDES_VARIANTS:-off bal-only bal-noiso bal sbco}
NV=$(echo $VARIANTS | wc -w)
lv_reexec $((REPS * NV * (SECS + 8) + 300)) "$0" "$@"
OUT=${STALL_OUT:-$HERE/bench/results}
LV_SRC=$HERE/tests/libvirt
W=$(mktemp -d /tmp/sbco-sides.XXXXXX)
SBCOD=""
finish() {
	vcpu_sampler_stop
	[ -n "$SBCOD" ] && kill "$SBCOD" 2> /dev/null && wait "$SBCOD" 2> /dev/null
	lv_cleanup
	rm -rf "$W"
}
trap finish EXIT
trap 'exit 1' INT TERM
mkdir -p "$OUT"
lv_setup "$W" || { echo "sides: libvirtd did not start" >&2; exit 1; }
D1=$LV_PREFIX-a
D2=$LV_PREFIX-b
for d in "$D1" "$D2"; do
	{ lv_define "$d" 2 spin && lv_start "$d"; } || { echo "sides: $d did not boot" >&2; exit 1; }
done
[ -r /sys/kernel/debug/sched/debug ] || mount -t debugfs none /sys/kernel/debug
. "$HERE/tests/lib/vcpu_sampler.sh"
vcpus() { # the vCPU threads of domain $1, vCPU 0 first
	for t in /proc/"$(cat "/run/libvirt/qemu/$1.pid")"/task/*; do
		c=$(cat "$t/comm")
		case $c in "CPU "*"/TCG") echo "${c#CPU } ${t##*/}" ;; esac
	done | sort -n | awk '{ print $2 }' | tr '\n' ' '
}
TIDS="$(vcpus "$D1")$(vcpus "$D2")"
[ "$(echo $TIDS | wc -w)" = 4 ] || { echo "sides: expected 4 vCPU threads, got '$TIDS'" >&2; exit 1; }
config() { # $1 = variant
	m=${1%-*}
	r=true
	rot=""
	iso=true
	[ "$1" = bal-only ] && r=false
	[ "$1" = bal-lift ] && rot=', "rotations": 0'
	case $1 in bal-only | bal-lift | bal-noiso) iso=false ;; esac
	echo "{\"mode\": \"off\", \"interval_ms\": 250, \"stall\": {\"respond\": $r, \"isolate\": $iso$rot${SIDES_DETECT_MS:+, \"detect_ms\": $SIDES_DETECT_MS}}, \"vms\": [{\"match\": \"$LV_PREFIX-*\", \"mode\": \"$m\"}]}" > "$W/sbco.json"
}
config off
. "$HERE/tests/lib/sbcod_start.sh"
SBCOD_SETSID=1 sbcod_start "$W/sbco.json" "$W/sbcod.log" || { tail "$W/sbcod.log"; exit 1; }
CTL="$B/sbcoctl --socket $W/sock"
counters() { # stalls, lifts, rotations of the two guests (sbcod's totals)
	$CTL metrics | awk -v p="$LV_PREFIX-" '
		index($0, "sbco_vm_stalls_total{vm=\"" p) == 1 { s += $NF }
		index($0, "sbco_vm_stall_lifts_total{vm=\"" p) == 1 { l += $NF }
		index($0, "sbco_vm_stall_rotations_total{vm=\"" p) == 1 { r += $NF }
		END { printf "%d %d %d\n", s, l, r }'
}
log_of() { echo "/var/log/libvirt/qemu/$1-serial.log"; }
CSV=$OUT/stall-sides.csv
RUNS=$W/runs.csv
echo "variant,rep,second,guest,ops" > "$CSV"
echo "variant,rep,sbcod_stalls,sbcod_lifts,sbcod_rotations,host_seconds,host_stalled_a,host_stalled_b,host_longest" > "$RUNS"
rep=1
while [ "$rep" -le "$REPS" ]; do
	order=$(echo $VARIANTS $VARIANTS | cut -d' ' -f$(((rep - 1) % NV + 1))-$(((rep - 1) % NV + NV)))
	for v in $order; do
		config "$v"
		if [ "${SIDES_FRESH:-0}" = 1 ]; then
			kill "$SBCOD" && wait "$SBCOD"
			cat "$W/sbcod.log" >> "$W/sbcod-all.log"
			SBCOD_SETSID=1 sbcod_start "$W/sbco.json" "$W/sbcod.log" || { tail "$W/sbcod.log"; exit 1; }
		else
			nr=$(grep -c "Reloaded" "$W/sbcod.log")
			kill -HUP "$SBCOD"
			i=0
			while [ "$(grep -c "Reloaded" "$W/sbcod.log")" -le "$nr" ] && [ $i -lt 50 ]; do
				sleep 0.1
				i=$((i + 1))
			done
		fi
		c0=$(counters) # sbcod's totals go on across reloads: count from here
		sleep 3
		n1=$(wc -l < "$(log_of "$D1")")
		n2=$(wc -l < "$(log_of "$D2")")
		vcpu_sampler_start "$W/samples" "$TIDS"
		sleep "$SECS"
		vcpu_sampler_stop
		for g in a b; do
			d=$D1 n=$n1
			[ $g = b ] && d=$D2 n=$n2
			tail -n +"$((n + 1))" "$(log_of "$d")" | sed -n 's/^spin: ops\/s=//p' | head -n "$SECS" |
				awk -v v="$v" -v r="$rep" -v g="$g" '{ printf "%s,%d,%d,%s,%d\n", v, r, NR, g, $1 }' >> "$CSV"
		done
		c1=$(echo "$c0 $(counters)" | awk '{ printf "%d,%d,%d", $4 - $1, $5 - $2, $6 - $3 }')
		echo "$v,$rep,$c1,$(vcpu_stalls "$W/samples" | tr ' ' ,)" >> "$RUNS"
		echo "sides: rep $rep $v: $(tail -1 "$RUNS")" >&2
	done
	rep=$((rep + 1))
done
cat "$W/sbcod.log" >> "$W/sbcod-all.log"
cp "$W/sbcod-all.log" "$OUT/stall-sides-sbcod.log"
cp "$RUNS" "$OUT/stall-sides-runs.csv"
SIDES_VARIANTS=$VARIANTS sh "$HERE/bench/stall/sides_summary.sh" "$CSV" "$RUNS" "$OUT" "$SECS"
