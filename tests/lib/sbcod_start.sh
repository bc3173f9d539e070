# SPDX-License-Identifier: MIT
# Sourced by tests that run sbcod (needs B, the build directory, and W, a work directory).
# sbcod_start CONFIG LOG: sbcod in the background on $W/sock with $W/state.json and a test
# NOTIFY_SOCKET; sets SBCOD to its pid and returns non-zero unless READY=1 arrives within
# 30 s; SBCOD_PRELOAD, when set, is sbcod's LD_PRELOAD (the fault injector); SBCOD_SETSID=1
# starts it in a session of its own (its own autogroup, as a unit has its own cgroup, so
# that the test's load does not starve it). sbcod runs SCHED_FIFO 1 as the unit runs it
# (CPUSchedulingPolicy=fifo; SBCOD_SCHED=nice runs it at nice -10 instead, SBCOD_SCHED=none
# as started): the TCG guests of a test are the very load it is for, and in the fair class
# they starved it for seconds (a 2-CPU CI host left sbcoctl without an answer for 5 s).
# sbcod itself is not under timeout(1): kill -9 must hit the daemon, so the caller
# ends it (by SBCOD).
sbcod_start() {
	# the listener binds before sbcod starts: a starved listener (the tests' load) that had
	# not yet bound when a fast sbcod sent READY=1 lost it (sent to the last run's socket)
	rm -f "$W/notify"
	"$B/tests/notify_listen" "$W/notify" 30 > "$W/notify.log" &
	NL=$!
	for _ in $(seq 1 100); do [ -S "$W/notify" ] && break; sleep 0.1; done
	case ${SBCOD_SCHED:-fifo} in
	fifo) sched="chrt -f 1" ;;
	nice) sched="nice -n -10" ;;
	*) sched="" ;;
	esac
	NOTIFY_SOCKET="$W/notify" ${SBCOD_SETSID:+setsid} $sched env LD_PRELOAD="${SBCOD_PRELOAD:-}" \
		"$B/sbcod" -c "$1" --state "$W/state.json" --socket "$W/sock" > "$2" 2>&1 &
	SBCOD=$!
	wait "$NL"
}
