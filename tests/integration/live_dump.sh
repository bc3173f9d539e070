#!/bin/sh
# SPDX-License-Identifier: MIT
# Live dump test: mounts debugfs if needed (and unmounts it again if this test mounted it),
# runs the synthetic-VM checker on the real /sys/kernel/debug/sched/debug, then checks that
# `sbcoctl snapshot` works on the live host. Exit 77 (SKIP) when not root or no debugfs.
set -u
B=${1:-build}
MOUNTED=
if [ "$(id -u)" != 0 ]; then echo "SKIP: not root (the scheduler dump is root-only)"; exit 77; fi
if [ ! -r /sys/kernel/debug/sched/debug ] && [ ! -r /proc/sched_debug ]; then
	if mount -t debugfs none /sys/kernel/debug 2>/dev/null; then MOUNTED=1
	else echo "SKIP: debugfs not mounted and cannot be mounted here"; exit 77; fi
fi
cleanup() { [ -n "$MOUNTED" ] && umount /sys/kernel/debug; }
trap cleanup EXIT
timeout 60 "$B/tests/live_dump"; rc=$?
[ $rc = 0 ] || exit $rc
out=$(timeout 30 "$B/sbcoctl" snapshot) || { echo "FAIL: sbcoctl snapshot exited $?"; exit 1; }
echo "$out" | grep -q '^cpu#0 ' || { echo "FAIL: no cpu#0 table in sbcoctl snapshot"; exit 1; }
timeout 30 "$B/sbcoctl" snapshot --json > /dev/null || { echo "FAIL: snapshot --json"; exit 1; }
echo PASS
