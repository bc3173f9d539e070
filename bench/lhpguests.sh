#!/bin/sh
# SPDX-License-Identifier: MIT
# lhpbench on real guests: two 2-vCPU TCG domains under a private libvirtd (the host's
# libvirt is untouched: tests/libvirt/env.sh), whose initramfs runs a static workload and
# prints its throughput every second on the serial console (tests/libvirt/spin.c: "spin" =
# user-space spin lock, "pipe" = pipe ping-pong between threads, guest-kernel wakeups and
# locks), plus HOGS CPU hogs pinned per host CPU, and sbcod steering only these two domains.
# off / bal / sbco are switched with `sbcoctl set-mode` in interleaved repetitions (the
# order rotates); each run settles 2 s, then takes the median of each guest's per-second
# throughput over SECS and adds the two. Stacking and threshold-exceed shares come from
# sbcod's per-VM counters over the run.
# Output: OUT/guests-WORK.csv and OUT/guests-WORK.md (median, min-max, ratios).
# usage: bench/lhpguests.sh BUILD [REPS [SECS [WORK [HOGS]]]]   (root; defaults 5 10 spin 1)
set -u
B=$(cd "${1:-build}" && pwd)
REPS=${2:-5}
SECS=${3:-10}
WORK=${4:-spin}
NHOGS=${5:-1}
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/tests/libvirt/env.sh"
[ -n "${SBCO_IN_NS:-}" ] || LV_PREFIX=sbcolhp$$
lv_reexec $((REPS * 3 * (SECS + 4) + 300)) "$0" "$@"
OUT=${LHP_OUT:-$HERE/bench/results}
LV_SRC=$HERE/tests/libvirt
W=$(mktemp -d /tmp/sbco-lhpg.XXXXXX)
HOGS=""
SBCOD=""
finish() {
	[ -n "$SBCOD" ] && kill "$SBCOD" 2> /dev/null && wait "$SBCOD" 2> /dev/null
	[ -f "$W/sbcod.log" ] && cp "$W/sbcod.log" "$OUT/guests-$WORK-sbcod.log"
	for p in $HOGS; do kill "$p" 2> /dev/null; done
	lv_cleanup
	rm -rf "$W"
}
trap finish EXIT
trap 'exit 1' INT TERM
mkdir -p "$OUT"
lv_setup "$W" || { echo "lhpguests: libvirtd did not start" >&2; exit 1; }
D1=$LV_PREFIX-a
D2=$LV_PREFIX-b
for d in "$D1" "$D2"; do
	{ lv_define "$d" 2 "$WORK" && lv_start "$d"; } || { echo "lhpguests: $d did not boot" >&2; exit 1; }
done
[ -r /sys/kernel/debug/sched/debug ] || mount -t debugfs none /sys/kernel/debug
c=0
while [ "$c" -lt "$(nproc)" ]; do
	h=0
	while [ "$h" -lt "$NHOGS" ]; do
		taskset -c "$c" sh -c 'while :; do :; done' &
		HOGS="$HOGS $!"
		h=$((h + 1))
	done
	c=$((c + 1))
done
echo "{\"mode\": \"off\", \"interval_ms\": 250, \"vms\": [{\"match\": \"$LV_PREFIX-*\", \"mode\": \"off\"}]}" \
	> "$W/sbco.json"
. "$HERE/tests/lib/sbcod_start.sh"
sbcod_start "$W/sbco.json" "$W/sbcod.log" || { tail "$W/sbcod.log"; exit 1; }
CTL="$B/sbcoctl --socket $W/sock"
counters() {
	$CTL metrics | awk -v p="$LV_PREFIX-" '
		index($0, "sbco_vm_busy_samples_total{vm=\"" p) == 1 { b += $NF }
		index($0, "sbco_vm_stacked_samples_total{vm=\"" p) == 1 { s += $NF }
		index($0, "sbco_vm_exceeded_samples_total{vm=\"" p) == 1 { e += $NF }
		END { printf "%d %d %d\n", b, s, e }'
}
log_of() { echo "/var/log/libvirt/qemu/$1-serial.log"; }
CSV=$OUT/guests-$WORK.csv
echo "work,mode,rep,ops_per_s,guest_a,guest_b,stacked_pct,exceeded_pct" > "$CSV"
rep=1
while [ "$rep" -le "$REPS" ]; do
	case $((rep % 3)) in
	1) order="off bal sbco" ;;
	2) order="bal sbco off" ;;
	0) order="sbco off bal" ;;
	esac
	for m in $order; do
		for d in "$D1" "$D2"; do
			$CTL set-mode "$d" "$m" > /dev/null || { tail -5 "$W/sbcod.log" >&2; exit 1; }
		done
		sleep 2
		n1=$(wc -l < "$(log_of "$D1")")
		n2=$(wc -l < "$(log_of "$D2")")
		set -- $(counters)
		b0=$1 s0=$2 e0=$3
		sleep "$SECS"
		set -- $(counters)
		b=$(($1 - b0)) s=$(($2 - s0)) e=$(($3 - e0))
		med() { tail -n +"$(($2 + 1))" "$(log_of "$1")" | sed -n "s/^$WORK: ops\/s=//p" |
			sort -n | awk '{ v[++n] = $1 } END { if (n) print n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2; else print 0 }'; }
		a=$(med "$D1" "$n1")
		c=$(med "$D2" "$n2")
		echo "$WORK,$m,$rep,$(awk -v a="$a" -v c="$c" 'BEGIN { print a + c }'),$a,$c,$(awk -v b="$b" -v s="$s" -v e="$e" 'BEGIN { printf "%.2f,%.2f", b ? 100 * s / b : 0, b ? 100 * e / b : 0 }')" >> "$CSV"
		echo "lhpguests: $WORK $m rep $rep: $(tail -1 "$CSV")" >&2
	done
	rep=$((rep + 1))
done
{
	echo "| guests ($WORK) | mode | runs | ops/s (2 guests), median | min - max | vs off | vs bal | stacked | over threshold |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	tail -n +2 "$CSV" | sort -t, -k2,2 -k4,4g | awk -F, '
		function flush() {
			if (!n) return
			med[m] = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			lo[m] = v[1]; hi[m] = v[n]; cnt[m] = n
			st[m] = sst / n; ex[m] = sex / n
		}
		{ if ($2 != m) { flush(); n = 0; sst = 0; sex = 0; m = $2 }
		  v[++n] = $4; sst += $7; sex += $8; w = $1 }
		END {
			flush()
			split("off bal sbco", order, " ")
			for (i = 1; i <= 3; i++) {
				k = order[i]
				vo = k != "off" && med["off"] ? sprintf("%+.1f %%", 100 * (med[k] / med["off"] - 1)) : "-"
				vb = k == "sbco" && med["bal"] ? sprintf("%+.1f %%", 100 * (med[k] / med["bal"] - 1)) : "-"
				printf "| %s | %s | %d | %.0f | %.0f - %.0f | %s | %s | %.1f %% | %.1f %% |\n",
					w, k, cnt[k], med[k], lo[k], hi[k], vo, vb, st[k], ex[k]
			}
		}'
} > "$OUT/guests-$WORK.md"
cat "$OUT/guests-$WORK.md"
