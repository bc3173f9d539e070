# SPDX-License-Identifier: MIT
# Sourced by live tests that read the scheduler dump: skip (exit 77) when not root, mount
# debugfs when needed and unmount it again on exit if this test mounted it.
if [ "$(id -u)" != 0 ]; then echo "SKIP: not root (the scheduler dump is root-only)"; exit 77; fi
DEBUGFS_MOUNTED=
if [ ! -r /sys/kernel/debug/sched/debug ] && [ ! -r /proc/sched_debug ]; then
	if mount -t debugfs none /sys/kernel/debug 2> /dev/null; then DEBUGFS_MOUNTED=1
	else echo "SKIP: debugfs not mounted and cannot be mounted here"; exit 77; fi
fi
debugfs_cleanup() { [ -n "$DEBUGFS_MOUNTED" ] && umount /sys/kernel/debug; }
trap debugfs_cleanup EXIT
