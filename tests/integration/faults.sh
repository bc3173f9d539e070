#!/bin/sh
# SPDX-License-Identifier: MIT
# Faults between a cycle's snapshot and its application, injected into the real sbcod
# (LD_PRELOAD=fault_inject.so runs the fault right before sbcod's Nth sched_setaffinity,
# i.e. after the dump was read and the placement planned) on synthetic VMs:
#  1. a vCPU thread exits: its change is skipped and counted (vanished), its siblings are
#     placed apart, sbcod cycles on, SIGTERM restores the survivor and exits 0;
#  2. a VM is killed (SIGKILL) mid-cycle: same, and it leaves sbcod's VM list; then sbcod
#     itself is SIGKILLed, and `sbcod --restore-state` puts back the other VM's originals
#     from the state file, skipping the dead VM's threads.
#  3. the loop held 2 s (placing a VM that appears later): logged as a slow cycle,
#     counted, and sbcoctl --timeout bounds the wait of a client.
set -u
B=${1:-build}
. "$(dirname "$0")/../lib/debugfs.sh"
. "$(dirname "$0")/../lib/sbcod.sh"
[ -f "$B/tests/fault_inject.so" ] || fail "no $B/tests/fault_inject.so (make all)"
SBCOD_PRELOAD=$(cd "$B/tests" && pwd)/fault_inject.so
S="$B/sbcoctl --socket $W/sock"

fakevm() { # $1 = name, $2 = vCPUs; sets VP (pid), T0, T1, TL (first, second, last tid)
	"$B/tests/fakevm" -name "guest=$1" -smp "$2" -mode lock -time 120 > "$W/$1.out" 2>&1 &
	VP=$!
	PIDS="$PIDS $VP"
	for _ in $(seq 1 100); do grep -q '^ready' "$W/$1.out" && break; sleep 0.05; done
	set -- $(cat "$W/$1.out")
	[ "${1:-}" = ready ] || fail "fakevm $1 not ready"
	T0=$3 T1=$4
	shift $(($# - 1))
	TL=$1
}
num() { $CTL '{"cmd":"status"}' | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
cycling() { # sbcod alive and its cycle count still rising
	c0=$(num cycles)
	sleep 0.5
	kill -0 "$SBCOD" 2> /dev/null || fail "sbcod died after the fault"
	[ "$(num cycles)" -gt "${c0:-0}" ] || fail "sbcod stopped cycling after the fault"
}
# wait (up to 5 s) until /proc/$1 is gone
gone_cmd() { echo "i=0; while [ -e $1 ] && [ \$i -lt 500 ]; do sleep 0.01; i=\$((i+1)); done; [ ! -e $1 ]"; }

# 1. a vCPU thread exits between snapshot and apply
fakevm fX 3
X=$VP X0=$T0 X1=$T1 X2=$TL
echo '{"libvirt_uri": null, "mode": "off", "interval_ms": 100, "vms": [{"name": "fX", "mode": "bal"}]}' > "$W/c1.json"
export SBCO_FAULT_AT=sched_setaffinity SBCO_FAULT_NTH=1 SBCO_FAULT_LOG="$W/f1.log"
export SBCO_FAULT_RUN="kill -USR1 $X; $(gone_cmd "/proc/$X/task/$X2")"
start_sbcod "$W/c1.json"
grep -q '^fired sched_setaffinity 1 rc 0$' "$W/f1.log" || fail "fault 1 did not fire: $(cat "$W/f1.log" 2>&1)"
grep -q "^call sched_setaffinity [0-9]* target $X2 result 0" "$W/f1.log" &&
	fail "the exited thread's affinity was set?: $(cat "$W/f1.log")"
[ "$(aff "$X0")" != "$ALL" ] && [ "$(aff "$X1")" != "$ALL" ] &&
	[ "$(aff "$X0")" != "$(aff "$X1")" ] || fail "fX vCPUs 0, 1 not placed apart after vCPU 2 exited"
cycling
[ "$(num vanished)" -ge 1 ] || fail "status vanished = $(num vanished)"
$S status | grep -q 'skipped (thread gone)' || fail "sbcoctl status lacks the skipped count"
echo "ok: vCPU thread exited between snapshot and apply: skipped ($(num vanished) vanished), sibling placed, cycling on"
kill -TERM "$SBCOD"
wait "$SBCOD"
rc=$?
[ $rc = 0 ] || fail "sbcod exited $rc after SIGTERM"
[ "$(aff "$X0")" = "$ALL" ] && [ "$(aff "$X1")" = "$ALL" ] ||
	fail "fX vCPUs not restored: $(aff "$X0") $(aff "$X1")"
kill -0 "$X" || fail "fX died"
echo "ok: SIGTERM restored the surviving vCPUs ($ALL) and exited 0"

# 2. a VM is killed between snapshot and apply; then sbcod is SIGKILLed and the state file
# restores the other VM
fakevm fY 2
Y=$VP Y0=$T0
fakevm fZ 2
Z0=$T0 Z1=$T1
echo '{"libvirt_uri": null, "mode": "off", "interval_ms": 100, "vms": [{"match": "f[YZ]", "mode": "bal"}]}' > "$W/c2.json"
export SBCO_FAULT_LOG="$W/f2.log"
export SBCO_FAULT_RUN="kill -9 $Y; $(gone_cmd "/proc/$Y/task/$Y0")"
mv "$W/log" "$W/log1"
start_sbcod "$W/c2.json"
grep -q '^fired sched_setaffinity 1 rc 0$' "$W/f2.log" || fail "fault 2 did not fire: $(cat "$W/f2.log" 2>&1)"
grep -q "^call sched_setaffinity [0-9]* target $Y0 result 0" "$W/f2.log" &&
	fail "the killed VM's affinity was set?: $(cat "$W/f2.log")"
wait "$Y" 2> /dev/null
[ "$(aff "$Z0")" != "$ALL" ] && [ "$(aff "$Z1")" != "$ALL" ] || fail "fZ not placed"
cycling
ok=0
for _ in $(seq 1 30); do
	$S daemon-vms > "$W/vms" 2>&1
	grep -q '^fZ ' "$W/vms" && ! grep -q '^fY ' "$W/vms" && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || { cat "$W/vms"; fail "the killed VM is still listed (or fZ is not)"; }
echo "ok: VM killed between snapshot and apply: skipped, the other placed, the dead one dropped"
kill -9 "$SBCOD"
wait "$SBCOD" 2> /dev/null
[ "$(aff "$Z0")" != "$ALL" ] || fail "fZ already unpinned after kill -9?"
unset SBCO_FAULT_AT SBCO_FAULT_RUN SBCO_FAULT_LOG
"$B/sbcod" --restore-state --state "$W/state.json" > "$W/restore.log" 2>&1 ||
	{ cat "$W/restore.log"; fail "sbcod --restore-state failed"; }
[ "$(aff "$Z0")" = "$ALL" ] && [ "$(aff "$Z1")" = "$ALL" ] ||
	{ cat "$W/restore.log"; fail "fZ not restored from the state file"; }
echo "ok: after kill -9, --restore-state put fZ back ($ALL), the dead VM's records skipped"

# 3. the loop held for 2 s (as by a starved daemon or a hung libvirtd): a VM that appears
# while sbcod runs is placed, and the fault sleeps 2 s before that placement. A "Slow
# cycle" warning says so, status counts it, a client with a short --timeout gets a clear
# error instead of hanging, and the default one gets its answer
echo '{"libvirt_uri": null, "mode": "off", "interval_ms": 100, "vms": [{"name": "fW", "mode": "bal"}]}' > "$W/c3.json"
export SBCO_FAULT_AT=sched_setaffinity SBCO_FAULT_NTH=1 SBCO_FAULT_LOG="$W/f3.log"
export SBCO_FAULT_RUN="sleep 2"
mv "$W/log" "$W/log2"
start_sbcod "$W/c3.json"
unset SBCO_FAULT_AT SBCO_FAULT_RUN SBCO_FAULT_LOG
[ "$(num slow)" = 0 ] || fail "status cycle.slow = $(num slow) before any hold"
fakevm fW 2
W0=$T0
for _ in $(seq 1 100); do grep -q 'Slow cycle' "$W/log" && break; sleep 0.1; done
grep -q '^fired sched_setaffinity 1 rc 0$' "$W/f3.log" || fail "fault 3 did not fire: $(cat "$W/f3.log" 2>&1)"
grep -Eq 'Slow cycle: the loop was held [1-9]\.[0-9]* s: .*(handler before it: process events, [1-9]\.|discovery [1-9]\.)' "$W/log" ||
	fail "no 'Slow cycle' warning naming the process events (or discovery) as what held the loop"
[ "$(aff "$W0")" != "$ALL" ] || fail "fW not placed after the hold"
[ "$(num slow)" = 1 ] || fail "status cycle.slow = $(num slow), want 1"
$S status | grep -q '^slow cycles *1 held the loop over 1 s' || fail "sbcoctl status lacks the slow cycles line"
kill -STOP "$SBCOD"
t0=$(date +%s%N)
out=$(timeout 10 $S --timeout 0.3 status 2>&1)
rc=$?
t1=$(date +%s%N)
kill -CONT "$SBCOD"
[ $rc != 0 ] && [ $rc != 124 ] || fail "sbcoctl --timeout 0.3 against a stopped sbcod: exit $rc"
echo "$out" | grep -qi 'timed out' || fail "no timeout error: $out"
[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "--timeout 0.3 took $(((t1 - t0) / 1000000)) ms"
$S status > /dev/null || fail "no answer after SIGCONT"
echo "ok: a 2 s hold logged as a slow cycle and counted; sbcoctl --timeout 0.3 failed in $(((t1 - t0) / 1000000)) ms on a stopped sbcod"
sed -n "s/.*Slow cycle: /  sbcod said: /p" "$W/log"
echo PASS
