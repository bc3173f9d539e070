# SPDX-License-Identifier: MIT
# Sourced by the sbcod integration tests (after tests/lib/debugfs.sh, with B = the build
# directory): a work directory W, two synthetic VMs dA and dB (fakevm, spin-lock vCPUs,
# living FAKEVM_SECS, default 120 s), PIDS to end on exit (only processes started here),
# helpers fail, aff, vcpu_tids, CTL (raw requests) and start_sbcod CONFIG (waits for
# READY=1, sets SBCOD).
W=$(mktemp -d /tmp/sbcod-test.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2> /dev/null; done
	sleep 0.3
	for p in $PIDS; do kill -9 "$p" 2> /dev/null; done
	wait 2> /dev/null
	rm -rf "$W"
	debugfs_cleanup
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$W/log" ] && tail -20 "$W/log"; exit 1; }
aff() { sed -n 's/^Cpus_allowed_list:\t//p' "/proc/$1/status"; }
vcpu_tids() { for t in /proc/"$1"/task/*; do grep -q '^CPU ' "$t/comm" && echo "${t##*/}"; done; }

for n in dA dB; do
	"$B/tests/fakevm" -name "guest=$n" -smp 2 -mode lock -time "${FAKEVM_SECS:-120}" > /dev/null 2>&1 &
	PIDS="$PIDS $!"
done
sleep 0.3
ALL=$(aff "$(echo $PIDS | cut -d' ' -f1)")
CTL="$B/sbcoctl --socket $W/sock request"
. "$(dirname "$0")/../lib/sbcod_start.sh"
start_sbcod() { # $1 = config; the log is $W/log; cleanup ends sbcod
	sbcod_start "$1" "$W/log"
	rc=$?
	PIDS="$PIDS $SBCOD"
	[ $rc = 0 ] || fail "no READY=1 on NOTIFY_SOCKET within 30 s"
}
