#!/bin/sh
# SPDX-License-Identifier: MIT
# Churn soak: sbcod (50 ms cycles) steers synthetic VMs that start every 2 s, live 3-9 s
# and end by themselves or by SIGKILL, and two TCG domains on an isolated libvirtd that are
# destroyed and started again in turn every 8 s; meanwhile runtime mode changes (set-mode),
# config reloads (SIGHUP) and status/metrics requests. Every 5 s it samples sbcod's RSS
# and open fds into a CSV. Passes when sbcod never dies, its fds end where they were after
# warm-up (+-2), its RSS grew by less than 1 MiB + 10 %, it exits 0 on SIGTERM and both
# domains have their affinity from before.
# usage: soak.sh BUILD [SECONDS [CSV]]   (make check: 60 s; make soak: 1800 s, CSV kept)
set -u
B=${1:-build}
SECS=${2:-60}
CSV=${3:-}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../libvirt/env.sh"
lv_reexec $((SECS + 600)) "$0" "$@"
B=$(cd "$B" && pwd)
W=$(mktemp -d /tmp/sbco-soak.XXXXXX)
SBCOD=""
KIDS=""
. "$HERE/../lib/debugfs.sh"
. "$HERE/../lib/sbcod_start.sh"
cleanup() {
	for p in $KIDS; do kill -9 "$p" 2> /dev/null; done
	[ -n "$SBCOD" ] && kill -9 "$SBCOD" 2> /dev/null
	wait 2> /dev/null
	lv_cleanup
	rm -rf "$W"
	debugfs_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; [ -f "$W/sbcod.log" ] && tail -15 "$W/sbcod.log"; exit 1; }
lv_setup "$W" || fail "isolated libvirtd did not start"
D1=$LV_PREFIX-a
D2=$LV_PREFIX-b
{ lv_define "$D1" 2 spin && lv_define "$D2" 2 spin && lv_start "$D1" && lv_start "$D2"; } ||
	fail "test domains did not boot"
aff_of() { $LV_VIRSH vcpuinfo "$1" | sed -n 's/^CPU Affinity: *//p' | tr '\n' ' '; }
before1=$(aff_of "$D1")
before2=$(aff_of "$D2")
cat > "$W/sbco.json" << JSON
{"mode": "off", "interval_ms": 50,
 "vms": [{"match": "sk-*", "mode": "sbco"}, {"match": "$LV_PREFIX-*", "mode": "bal"}]}
JSON
SBCOD_SETSID=1 sbcod_start "$W/sbco.json" "$W/sbcod.log" || fail "sbcod not READY"
PID0=$SBCOD
CTL="$B/sbcoctl --timeout 30 --socket $W/sock"
sample() { # t rss_kb fds vms cycles failed_cycles
	rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$SBCOD/status")
	fds=$(ls "/proc/$SBCOD/fd" | wc -l)
	st=$($CTL request '{"cmd":"status"}')
	vms=$($CTL request '{"cmd":"vms"}' | grep -o '"name":' | wc -l)
	echo "$1,$rss,$fds,$vms,$(echo "$st" | sed -n 's/.*"cycles":\([0-9]*\).*/\1/p'),$(echo "$st" | sed -n 's/.*"failed_cycles":\([0-9]*\).*/\1/p')"
}
echo "t_s,rss_kb,fds,vms,cycles,failed_cycles" > "$W/soak.csv"
t0=$(date +%s)
n=0 started=0 killed=0 lvflips=0 modes=0 hups=0 now=0
next_vm=0 next_flip=4 next_mode=3 next_hup=10 next_sample=0
# each event is due at a time and then rescheduled, so a slow iteration skips nothing
while [ "$now" -lt "$SECS" ]; do
	kill -0 "$SBCOD" 2> /dev/null || fail "sbcod died at ${now} s"
	# a synthetic VM every 2 s: 2-4 vCPUs, 3-9 s of life; every third is SIGKILLed early
	if [ "$now" -ge "$next_vm" ]; then
		next_vm=$((next_vm + 2))
		n=$((n + 1))
		"$B/tests/fakevm" -name "guest=sk-$n" -smp $((2 + n % 3)) -mode lock \
			-time $((3 + n % 7)) > /dev/null 2>&1 &
		vp=$!
		KIDS="$KIDS $vp"
		started=$((started + 1))
		if [ $((n % 3)) = 0 ]; then
			(sleep 1.5; kill -9 "$vp" 2> /dev/null) &
			killed=$((killed + 1))
		fi
	fi
	# a TCG domain destroyed or started again every 8 s (not waiting for its boot)
	if [ "$now" -ge "$next_flip" ]; then
		next_flip=$((next_flip + 8))
		d=$D1; [ $((lvflips % 2)) = 1 ] && d=$D2
		if $LV_VIRSH domstate "$d" | grep -q running; then
			$LV_VIRSH destroy "$d" > /dev/null 2>&1
		else
			$LV_VIRSH start "$d" > /dev/null 2>&1
		fi
		lvflips=$((lvflips + 1))
	fi
	if [ "$now" -ge "$next_mode" ]; then
		next_mode=$((next_mode + 6))
		$CTL set-mode "$D1" "$(echo "bal sbco off" | cut -d' ' -f$((modes % 3 + 1)))" > /dev/null 2>&1
		modes=$((modes + 1))
	fi
	if [ "$now" -ge "$next_hup" ]; then
		next_hup=$((next_hup + 20))
		kill -HUP "$SBCOD"
		hups=$((hups + 1))
	fi
	if ! $CTL metrics > /dev/null 2> "$W/ctl.err"; then
		for t in /proc/"$SBCOD"/task/*; do
			echo "thread $(cat "$t/comm"): $(cat "$t/wchan") $(head -3 "$t/stack" 2> /dev/null | tr '\n' ' ')"
		done
		fail "metrics request failed at ${now} s: $(cat "$W/ctl.err")"
	fi
	if [ "$now" -ge "$next_sample" ]; then
		next_sample=$((next_sample + 5))
		sample "$now" >> "$W/soak.csv"
	fi
	# keep the list of our children short: forget those that ended
	alive=""
	for p in $KIDS; do kill -0 "$p" 2> /dev/null && alive="$alive $p"; done
	KIDS=$alive
	sleep 1
	now=$(($(date +%s) - t0))
done
sample "$now" >> "$W/soak.csv"
[ "$SBCOD" = "$PID0" ] && kill -0 "$SBCOD" 2> /dev/null || fail "sbcod died"
# restore the domains for the affinity check at the end
for d in "$D1" "$D2"; do
	$LV_VIRSH domstate "$d" | grep -q running || lv_start "$d" || fail "$d did not boot again"
done
$CTL set-mode "$D1" bal > /dev/null
sleep 1
for p in $KIDS; do wait "$p" 2> /dev/null; done
KIDS=""
kill -TERM "$SBCOD"
wait "$SBCOD"
rc=$?
SBCOD=""
[ $rc = 0 ] || fail "sbcod exited $rc on SIGTERM"
[ "$(aff_of "$D1")" = "$before1" ] && [ "$(aff_of "$D2")" = "$before2" ] ||
	fail "affinity not restored: $(aff_of "$D1") / $(aff_of "$D2")"
[ -n "$CSV" ] && cp "$W/soak.csv" "$CSV"
# flat: compare the first sample after warm-up (>= 10 s, or the first) with the last
first=$(awk -F, 'NR > 1 && $1 >= 10 { print; exit }' "$W/soak.csv")
[ -n "$first" ] || first=$(sed -n 2p "$W/soak.csv")
last=$(tail -1 "$W/soak.csv")
r0=$(echo "$first" | cut -d, -f2) r1=$(echo "$last" | cut -d, -f2)
f0=$(echo "$first" | cut -d, -f3) f1=$(echo "$last" | cut -d, -f3)
fmax=$(awk -F, 'NR > 1 { if ($3 > m) m = $3 } END { print m }' "$W/soak.csv")
cycles=$(echo "$last" | cut -d, -f5) bad=$(echo "$last" | cut -d, -f6)
echo "soak: ${now} s, $started synthetic VMs started ($killed SIGKILLed early), $lvflips libvirt destroy/start, $modes set-mode, $hups SIGHUP, $cycles cycles ($bad failed)"
echo "soak: RSS $r0 -> $r1 kB, fds $f0 -> $f1 (max $fmax)"
[ "$r1" -le $((r0 + 1024 + r0 / 10)) ] || fail "RSS grew from $r0 to $r1 kB"
[ "$f1" -le $((f0 + 2)) ] && [ "$f1" -ge $((f0 - 2)) ] || fail "open fds went from $f0 to $f1"
echo "ok: sbcod served ${now} s of churn, exited 0, restored both domains; RSS and fds flat"
echo PASS
