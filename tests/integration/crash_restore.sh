#!/bin/sh
# SPDX-License-Identifier: MIT
# Fault injection around sbcod's promise to leave a host as it found it, on two synthetic
# VMs (the config steers only them):
# - SIGKILL at random points (start-up, first placements, cycles) N times (default 100):
#   after each, a restart (`sbcod --once`, mode off) must put every vCPU's affinity, EEVDF
#   slice and nice back to the originals read from /proc before the first run, and (on a
#   cgroup v1 cpu hierarchy, each VM in a group of its own) every thread the stall
#   prevention moved back into its VM's group, with sbco's groups removed;
# - the state file's disk read-only, then full: sbcod must refuse to change anything it
#   cannot record first, say why, and exit 1 with every affinity untouched;
# - debugfs unmounted under a running sbcod (in a private mount namespace): cycles fail
#   with a message that says to mount it, sbcod keeps serving and recovers when it is back.
set -u
B=${1:-build}
N=${SBCO_CRASH_ROUNDS:-100}
FAKEVM_SECS=900 # the VMs must outlive every round (the checks below notice if not)
. "$(dirname "$0")/../lib/debugfs.sh"
. "$(dirname "$0")/../lib/sbcod.sh"
. "$(dirname "$0")/../lib/cgroup.sh"
A=$(echo $PIDS | cut -d' ' -f1)
Bv=$(echo $PIDS | cut -d' ' -f2)
CGV1=/sys/fs/cgroup/cpu
CG=""
if [ -w "$CGV1/cgroup.procs" ] && [ -e "$CGV1/cpu.shares" ]; then
	CG=$CGV1/sbcocrash$$
	mkdir -p "$CG/a" "$CG/b" || fail "cannot create cgroups under $CG"
	echo "$A" > "$CG/a/cgroup.procs" && echo "$Bv" > "$CG/b/cgroup.procs" || fail "cannot move the VMs into their cgroups"
else
	echo "SKIP: (part) no cgroup v1 cpu hierarchy at $CGV1: the stall prevention's groups are not crash-tested here"
fi
crash_cleanup() {
	cleanup
	[ -n "$CG" ] || return 0
	for g in a b sbco.a sbco.b; do
		[ -d "$CG/$g" ] || continue
		for t in $(cat "$CG/$g/tasks" 2> /dev/null); do echo "$t" > "$CGV1/tasks" 2> /dev/null; done
		rmdir "$CG/$g" 2> /dev/null
	done
	rmdir "$CG" 2> /dev/null
}
trap crash_cleanup EXIT
# every vCPU thread: tid, affinity, EEVDF slice (se.slice: a custom one while nudged) and
# nice, read from /proc independently of sbcod
state_now() {
	for p in $A $Bv; do
		for t in $(vcpu_tids "$p"); do
			echo "$t $(aff "$t") $(sed -n 's/^se\.slice *: *//p' "/proc/$t/sched") $(cut -d' ' -f19 "/proc/$t/stat")"
		done
		for t in /proc/"$p"/task/*; do # every thread's cpu group
			echo "${t##*/} cg $(thread_cpu_group "$t")"
		done
	done
	[ -z "$CG" ] || echo "0 cg $(ls "$CG" | tr "\n" ,)" # sbco.* groups left: a change
}
state_now > "$W/orig"
all_original() { state_now > "$W/now"; cmp -s "$W/orig" "$W/now"; }
slice_or_nice_changed() { # after state_now: a slice or nice differs from the original
	! awk '$2 == "cg" { next } NR == FNR { o[$1] = $3 " " $4; next } o[$1] != $3 " " $4 { exit 1 }' "$W/orig" "$W/now"
}
moved_groups() { # after state_now: a thread is in another cpu group
	! awk '$2 != "cg" { next } NR == FNR { o[$1] = $3; next } o[$1] != $3 { exit 1 }' "$W/orig" "$W/now"
}
echo '{"libvirt_uri": null, "mode": "off", "interval_ms": 50, "vms": [{"name": "dA", "mode": "bal"}, {"name": "dB", "mode": "sbco"}]}' > "$W/on.json"
echo '{"libvirt_uri": null, "mode": "off", "interval_ms": 50}' > "$W/off.json"
[ "$(grep -c " $ALL " "$W/orig")" = 4 ] || fail "unexpected start: $(cat "$W/orig")"

i=1
killed_pinned=0
killed_nudged=0
killed_moved=0
while [ $i -le "$N" ]; do
	# a random point: 0-400 ms after the start (start-up, placements, a dozen cycles)
	ms=$(od -An -N2 -tu2 /dev/urandom | awk '{ print $1 % 400 }')
	"$B/sbcod" -c "$W/on.json" --state "$W/state.json" --socket "" > "$W/run.log" 2>&1 &
	D=$!
	sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
	if ! all_original; then
		killed_pinned=$((killed_pinned + 1))
		slice_or_nice_changed && killed_nudged=$((killed_nudged + 1))
		moved_groups && killed_moved=$((killed_moved + 1))
	fi
	kill -9 "$D" 2> /dev/null
	wait "$D" 2> /dev/null
	timeout 20 "$B/sbcod" --once -c "$W/off.json" --state "$W/state.json" --socket "" \
		> "$W/restore.log" 2>&1 || { cat "$W/restore.log"; fail "restart after kill -9 #$i failed"; }
	all_original || { cat "$W/restore.log"; diff "$W/orig" "$W/now"; fail "kill -9 #$i after $ms ms: not every affinity, slice, nice and cgroup restored"; }
	[ ! -e "$W/state.json" ] || fail "state file left after the restore #$i"
	i=$((i + 1))
done
[ "$killed_pinned" -gt 0 ] || fail "no kill landed while VMs were pinned: the test did not test"
[ -z "$CG" ] || [ "$killed_moved" -gt 0 ] || fail "no kill landed while threads were moved: the groups were not tested"
echo "ok: $N x kill -9 at random points (0-400 ms; $killed_pinned with changes in force, $killed_nudged of them with a slice or nice nudged, $killed_moved with threads moved out of their VM's cgroup), each restart restored every affinity, slice, nice and cgroup"

# the state file's disk read-only, then full: nothing changed, a clear error, exit 1
mkdir "$W/ro" "$W/full"
mount -t tmpfs -o size=64k,ro tmpfs "$W/ro" || fail "cannot mount a read-only tmpfs"
mount -t tmpfs -o size=4k tmpfs "$W/full" || { umount "$W/ro"; fail "cannot mount a small tmpfs"; }
head -c 8192 /dev/zero > "$W/full/fill" 2> /dev/null
for d in ro full; do
	timeout 20 "$B/sbcod" --once -c "$W/on.json" --state "$W/$d/state.json" --socket "" \
		> "$W/$d.log" 2>&1
	rc=$?
	grep -q "Failed to write the state file '$W/$d/state.json'" "$W/$d.log" ||
		{ umount "$W/ro" "$W/full"; cat "$W/$d.log"; fail "$d state disk: no clear error"; }
	[ $rc = 1 ] || { umount "$W/ro" "$W/full"; fail "$d state disk: exit $rc, expected 1"; }
	all_original || { umount "$W/ro" "$W/full"; fail "$d state disk: an affinity was changed without its original on disk"; }
done
umount "$W/ro" "$W/full"
echo "ok: state file on a read-only or a full disk: sbcod changes nothing, says why, exits 1"

# debugfs gone under a running sbcod, in a private mount namespace (the host keeps it)
cat > "$W/nodebugfs.sh" << EOF
mount --make-rprivate /
"$B/sbcod" -c "$W/on.json" --state "$W/state.json" --socket "$W/sock" > "$W/nd.log" 2>&1 &
D=\$!
i=0
while [ \$i -lt 100 ] && ! "$B/sbcoctl" --socket "$W/sock" status 2> /dev/null | grep -q '^ready *yes'; do sleep 0.1; i=\$((i + 1)); done
umount /sys/kernel/debug 2> /dev/null || umount -l /sys/kernel/debug
sleep 0.5
"$B/sbcoctl" --socket "$W/sock" request '{"cmd":"status"}' > "$W/nd.status"
mount -t debugfs none /sys/kernel/debug
sleep 0.5
"$B/sbcoctl" --socket "$W/sock" request '{"cmd":"status"}' > "$W/nd.status2"
kill \$D
wait \$D
EOF
if [ -r /proc/sched_debug ]; then
	echo "SKIP: (part) /proc/sched_debug exists: unmounting debugfs would not take the dump away"
else
	timeout 60 unshare -m sh "$W/nodebugfs.sh" || fail "debugfs run: exit $?"
	grep -q '"failed_cycles_in_a_row":[1-9]' "$W/nd.status" || { cat "$W/nd.status"; fail "no failed cycles without debugfs"; }
	grep -q 'mount -t debugfs none /sys/kernel/debug' "$W/nd.status" || fail "the error does not say to mount debugfs"
	grep -q '"failed_cycles_in_a_row":0' "$W/nd.status2" || { cat "$W/nd.status2"; fail "no recovery after debugfs came back"; }
	grep -q 'Cycle failed: no scheduler dump' "$W/nd.log" || fail "failure not logged"
	all_original || fail "affinities not restored after the debugfs run"
	echo "ok: debugfs unmounted under sbcod: cycles fail with 'mount -t debugfs ...', sbcod serves on and recovers"
fi
echo PASS
