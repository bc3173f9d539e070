#!/bin/sh
# SPDX-License-Identifier: MIT
# libvirt backend on a real libvirtd with two 2-vCPU TCG guests, isolated from the host's
# libvirt in a private mount namespace (tests/libvirt/env.sh). Checks: both domains found
# with the right vCPU thread ids (vs /proc and QMP), destroy/start seen within 2 s through
# events, libvirtd killed and restarted -> reconnection and the same VMs, no rediscovery
# in steady state; then `sbcoctl vms` lists them, and the policy engine pins them through
# libvirt, nudges their vCPU threads on the real dump and restores everything; last, a
# vCPU hot-plugged with `virsh setvcpus --live` is listed within 2 s (libvirt sends no
# event for it; the process events do the work). Exit 77 (SKIP) when it cannot run here.
set -u
B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../libvirt/env.sh"
if [ -z "${SBCO_IN_NS:-}" ]; then
	if why=$(lv_skip_reason); then echo "SKIP: $why"; exit 77; fi
	SBCO_IN_NS=1 LV_PREFIX=$LV_PREFIX exec timeout 900 unshare -m --propagation private \
		sh "$0" "$@"
fi
B=$(cd "$B" && pwd)
W=$(mktemp -d /tmp/sbco-lv.XXXXXX)
trap 'lv_cleanup; rm -rf "$W"' EXIT
trap 'exit 1' INT TERM
t0=$(date +%s)
lv_setup "$W" || { echo "FAIL: isolated libvirtd did not start"; exit 1; }
D1=$LV_PREFIX-a
D2=$LV_PREFIX-b
if ! { lv_define "$D1" 2 && lv_define "$D2" 2 && lv_start "$D1" && lv_start "$D2"; }; then
	echo "FAIL: test domains did not boot"
	tail -20 /var/log/libvirt/libvirtd.log /var/log/libvirt/qemu/"$D1".log 2> /dev/null
	exit 1
fi
echo "ok: isolated libvirtd and two TCG guests up in $(($(date +%s) - t0)) s"
cat > "$W/restart.sh" << RESTART
. "$HERE/../libvirt/env.sh"
LV_PIDFILE=$LV_PIDFILE
case "\$1" in stop) lv_libvirtd_stop ;; start) lv_libvirtd_start ;; esac
RESTART
"$B/tests/libvirt_discovery" "$D1" "$D2" "$W/restart.sh" || exit 1
out=$(timeout 60 "$B/sbcoctl" vms) || { echo "FAIL: sbcoctl vms exited $?"; exit 1; }
for d in "$D1" "$D2"; do
	echo "$out" | grep -q "^$d .*libvirt" || { echo "FAIL: sbcoctl vms lacks $d"; echo "$out"; exit 1; }
done
echo "ok: sbcoctl vms lists both via libvirt"
# the policy on the same domains; debugfs mounted privately in this namespace if needed
[ -r /sys/kernel/debug/sched/debug ] || mount -t debugfs none /sys/kernel/debug 2> /dev/null
for d in "$D1" "$D2"; do # the masks the policy starts from, for the log
	echo "before the policy: $d $($LV_VIRSH vcpuinfo "$d" | grep -i affinity | tr -s ' ' | tr '\n' ' ')"
done
if ! "$B/tests/libvirt_policy" 3; then
	for d in "$D1" "$D2"; do $LV_VIRSH vcpupin "$d"; $LV_VIRSH vcpuinfo "$d" | grep -i affin; done
	exit 1
fi
# vCPU hotplug: libvirt sends no event; the process events must carry it
D3=$LV_PREFIX-c
{ lv_define "$D3" 2 "" 1 && lv_start "$D3"; } || fail_boot=1
[ -z "${fail_boot:-}" ] || { echo "FAIL: hotplug domain did not boot"; exit 1; }
"$B/tests/libvirt_hotplug" "$D3"; rc=$?
[ $rc = 0 ] || [ $rc = 77 ] || exit 1
echo PASS
