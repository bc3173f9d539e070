#!/bin/sh
# SPDX-License-Identifier: MIT
# Live dump test: runs the synthetic-VM checker on the real /sys/kernel/debug/sched/debug,
# then checks that `sbcoctl snapshot` works on the live host.
set -u
B=${1:-build}
. "$(dirname "$0")/../lib/debugfs.sh"
timeout 60 "$B/tests/live_dump"; rc=$?
[ $rc = 0 ] || exit $rc
out=$(timeout 30 "$B/sbcoctl" snapshot) || { echo "FAIL: sbcoctl snapshot exited $?"; exit 1; }
echo "$out" | grep -q '^cpu#0 ' || { echo "FAIL: no cpu#0 table in sbcoctl snapshot"; exit 1; }
timeout 30 "$B/sbcoctl" snapshot --json > /dev/null || { echo "FAIL: snapshot --json"; exit 1; }
echo PASS
